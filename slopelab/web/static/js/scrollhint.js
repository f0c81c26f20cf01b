// Tables wider than their box scroll inside it (never the page): a box that hides columns
// says so, with shaded edges on the hidden sides and a line under it, so a phone user knows to
// swipe. data-more is "left", "right", "both" or absent.

const HINT = "Swipe or scroll sideways for more columns.";

export function watchScrollBoxes(root = document) {
  for (const box of root.querySelectorAll(".table-scroll")) watch(box);
}

function watch(box) {
  const hint = document.createElement("p");
  hint.className = "hint scroll-hint";
  hint.textContent = HINT;
  hint.hidden = true;
  box.after(hint);
  const update = () => {
    const hiddenLeft = box.scrollLeft > 1;
    const hiddenRight = box.scrollLeft + box.clientWidth < box.scrollWidth - 1;
    const more = hiddenLeft && hiddenRight ? "both" : hiddenLeft ? "left" : hiddenRight ? "right" : null;
    if (more) box.dataset.more = more;
    else delete box.dataset.more;
    hint.hidden = !more;
  };
  box.addEventListener("scroll", update, { passive: true });
  const observer = new ResizeObserver(update);
  observer.observe(box);
  for (const child of box.children) observer.observe(child);
}
