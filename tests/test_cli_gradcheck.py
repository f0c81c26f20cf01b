"""``slopelab gradcheck`` end to end: exit 1 only for a failed check (a NaN or infinite loss or
gradient included), exit 2 with one line for everything the user must fix (a --function that
cannot be imported, raises or returns the wrong kind of thing; a --params file that does not
fit), and a summary instead of hundreds of rows."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from slopelab.cli import main

_names = itertools.count()


def run_cli(args: list[str], capsys) -> tuple[int, dict | None, str, str]:
    """Run the CLI in-process: exit code, the JSON document (with --json), stdout, stderr."""
    code = main(args)
    captured = capsys.readouterr()
    document = json.loads(captured.out) if "--json" in args and captured.out.strip() else None
    return code, document, captured.out, captured.err


def assert_one_line_error(code: int, err: str, message: str) -> None:
    """Exit 2, and stderr is the one line ``slopelab gradcheck: error: ...`` holding ``message``."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slopelab gradcheck: error: "), err
    assert re.search(message, lines[0]), lines[0]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def module(workdir):
    """Write ``source`` as a fresh module in the working folder; returns its name. Each name is
    new, so no test sees a module another test imported; all are forgotten afterwards."""
    written = []

    def write(source: str) -> str:
        name = f"userloss_{next(_names)}"
        (workdir / f"{name}.py").write_text(textwrap.dedent(source))
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


SQUARES = """
import numpy as np

def f(params):
    W = params["W"]
    return float(np.sum(W ** 2)), {"W": 2 * W}
"""


def point(workdir: Path, **arrays) -> str:
    arrays = arrays or {"W": np.linspace(0.5, 1.5, 6).reshape(2, 3)}
    np.savez(workdir / "point.npz", **arrays)
    return "point.npz"


# ---------------------------------------------------------------- non-finite values


@pytest.mark.parametrize("bad", ["float('nan')", "float('inf')", "-float('inf')"])
def test_a_function_with_a_non_finite_loss_fails_the_check(workdir, module, capsys, bad):
    # The old command printed "excellent", passed: true, exit 0.
    name = module(
        f"""
        import numpy as np

        def f(params):
            return {bad}, {{"W": np.zeros_like(params["W"])}}
        """
    )
    args = ["gradcheck", "--function", f"{name}:f", "--params", point(workdir)]

    code, result, _, err = run_cli([*args, "--json"], capsys)

    assert code == 1 and result["passed"] is False and result["verdict"] == "non-finite"
    assert result["max_rel_error"] is None  # infinite: nothing could be measured
    assert re.search(r"non-finite: f returned a loss of -?(nan|inf) at params", err)
    code, _, out, _ = run_cli(args, capsys)
    assert code == 1 and "excellent" not in out


def test_a_function_that_is_nan_next_to_x_fails_the_check(workdir, module, capsys):
    name = module(
        """
        import numpy as np

        def f(params):
            W = params["W"]
            loss = np.nan if W[0, 0] > 0.5 + 1.5e-5 else float(np.sum(W ** 2))
            return loss, {"W": 2 * W}
        """
    )
    args = ["gradcheck", "--json", "--function", f"{name}:f", "--params", point(workdir)]

    code, result, _, _ = run_cli([*args, "--full"], capsys)

    assert code == 1 and result["verdict"] == "non-finite"
    assert result["reason"].startswith("W[0, 0]: f is nan at x + 2e-05")
    assert result["counts"] == {"ok": 5, "non-finite": 1}


def test_a_nan_in_the_analytic_gradient_fails_even_in_an_unchecked_entry(workdir, module, capsys):
    name = module(
        """
        import numpy as np

        def f(params):
            W = params["W"]
            grad = 2 * W
            grad[-1, -1] = np.nan
            return float(np.sum(W ** 2)), {"W": grad}
        """
    )
    args = ["gradcheck", "--json", "--function", f"{name}:f", "--params", point(workdir)]

    code, result, _, _ = run_cli([*args, "--num-checks", "1"], capsys)

    assert code == 1 and result["verdict"] == "non-finite"
    assert result["problems"] == ["grads['W'][1, 2] is nan (1 of 6 entries not finite)"]


# ---------------------------------------------------------------- your function's own errors


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return 1 / 0", "your function raised ZeroDivisionError: division by zero$"),
        ("return params['V'], {}", "your function raised KeyError: 'V'$"),
        ("import sys; sys.exit(3)", "your function raised SystemExit: 3$"),
        (
            "raise ValueError('line one\\nline two')",
            "your function raised ValueError: line one line two$",
        ),
    ],
)
def test_a_function_that_raises_is_exit_2_with_one_line(workdir, module, capsys, body, message):
    # The old command printed a traceback (later "internal error") with exit 1, the code of a
    # failed check.
    name = module(f"def f(params):\n    {body}\n")
    args = ["gradcheck", "--json", "--function", f"{name}:f", "--params", point(workdir)]

    code, _, out, err = run_cli(args, capsys)

    assert_one_line_error(code, err, rf"--function {name}:f: {message}")
    assert out == ""


def test_an_exception_raised_during_the_cost_estimate_of_full_is_exit_2(workdir, module, capsys):
    name = module("def f(params):\n    raise RuntimeError('boom')\n")
    args = ["gradcheck", "--full", "--function", f"{name}:f", "--params", point(workdir)]
    code, _, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, "your function raised RuntimeError: boom$")


RETURNS = {
    "a string": (
        "return 'abc'",
        r"f must return a tuple \(loss, grads\) for check_gradient; got 'abc' \(str\)",
    ),
    "three values": (
        "return 1.0, {'W': 2 * params['W']}, None",
        "got a tuple of length 3",
    ),
    "a string loss": (
        "return 'abc', {'W': 2 * params['W']}",
        r"the loss f returns must be a real number; got 'abc' \(str\)",
    ),
    "a vector loss": (
        "return params['W'].ravel(), {'W': 2 * params['W']}",
        r"f must return a scalar loss; got a loss of shape \(6,\)",
    ),
    "wrong keys": (
        "return 1.0, {'V': 2 * params['W']}",
        r"f must return grads with the keys of params \['W'\]; got \['V'\]",
    ),
    "grads not a dict": (
        "return 1.0, 2 * params['W']",
        r"f must return grads with the keys of params \['W'\]; got array",
    ),
    "a wrong shape": (
        "return 1.0, {'W': params['W'].T}",
        r"grads\['W'\] has shape \(3, 2\) but params\['W'\] has shape \(2, 3\)",
    ),
    "string gradients": (
        "return 1.0, {'W': [['a'] * 3] * 2}",
        r"grads\['W'\] must be real numbers shaped like params; got an array of dtype <U1",
    ),
}


@pytest.mark.parametrize("returned", list(RETURNS))
def test_a_function_returning_the_wrong_kind_of_thing_is_exit_2(workdir, module, capsys, returned):
    body, message = RETURNS[returned]
    name = module(f"def f(params):\n    {body}\n")
    args = ["gradcheck", "--function", f"{name}:f", "--params", point(workdir)]
    code, _, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, message)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1 / 0\n", r"importing {name} raised ZeroDivisionError: division by zero$"),
        ("def f(:\n", r"importing {name} raised SyntaxError: invalid syntax"),
        ("import sys\nsys.exit('bye')\n", r"importing {name} raised SystemExit: bye$"),
        (
            "import no_such_dependency_xyz\n",
            r"importing {name} raised ModuleNotFoundError: No module named 'no_such_dependency_x",
        ),
        ("g = 1\n", r"--function: {name} has no function 'f'$"),
        ("f = 1\n", r"--function: {name} has no function 'f'$"),
    ],
)
def test_a_module_that_cannot_give_its_function_is_exit_2(workdir, module, capsys, source, message):
    name = module(source)
    args = ["gradcheck", "--function", f"{name}:f", "--params", point(workdir)]
    code, _, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, message.format(name=name))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:f", r"cannot import module 'no_such_module_xyz' .*; run slopelab"),
        ("no_such_package_xyz.sub:f", r"cannot import module 'no_such_package_xyz.sub' "),
        ("nocolon", r"--function 'nocolon' must look like module:function"),
    ],
)
def test_a_function_spec_that_names_nothing_is_exit_2(workdir, capsys, spec, message):
    code, _, _, err = run_cli(["gradcheck", "--function", spec], capsys)
    assert_one_line_error(code, err, message)


def test_the_working_folder_leaves_sys_path_after_the_import(workdir, module, capsys):
    name = module(SQUARES)
    before = list(sys.path)
    code, _, _, _ = run_cli(
        ["gradcheck", "--function", f"{name}:f", "--params", point(workdir)], capsys
    )
    assert code == 0 and sys.path == before


@pytest.mark.slow
def test_a_function_that_raises_is_exit_2_in_a_real_process(workdir):
    (workdir / "brokenloss.py").write_text("def f(params):\n    return 1 / 0\n")
    np.savez(workdir / "point.npz", W=np.ones((2, 3)))
    done = subprocess.run(
        [sys.executable, "-m", "slopelab", "gradcheck", "--function", "brokenloss:f",
         "--params", "point.npz"],
        capture_output=True, text=True, cwd=workdir, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "slopelab gradcheck: error: --function brokenloss:f: your function raised "
        "ZeroDivisionError: division by zero"
    )


# ---------------------------------------------------------------- --params files


def bad_params(workdir: Path, case: str) -> Path:
    """A .npz that cannot be the W (2, 3), b (3,) of a built-in loss on toy2d."""
    path = workdir / f"{case}.npz"
    ones = np.ones((2, 3))
    arrays = {
        "no W": {"b": np.ones(3)},
        "other names": {"A": ones, "B": np.ones(3)},
        "W too tall": {"W": np.ones((3, 3)), "b": np.ones(3)},
        "W 1-d": {"W": np.ones(6), "b": np.ones(3)},
        "b too long": {"W": ones, "b": np.ones(4)},
        "strings": {"W": np.full((2, 3), "a"), "b": np.ones(3)},
        "complex": {"W": ones * 1j, "b": np.ones(3)},
        "nan": {"W": np.full((2, 3), np.nan), "b": np.ones(3)},
        "empty": {},
    }[case]
    np.savez(path, **arrays)
    return path


PARAMS_ERRORS = {
    "no W": r"must hold arrays W \(2, 3\) and b \(3,\) for the built-in loss; it holds \['b'\]",
    "other names": r"it holds \['A', 'B'\]",
    "W too tall": r"params\['W'\] has 3 rows but X has 2 features",
    "W 1-d": r"params\['W'\] must be 2-D of shape \(D, C\); got shape \(6,\)",
    "b too long": r"params\['b'\] must have shape \(3,\) to match W of shape \(2, 3\)",
    "strings": r"array 'W' has dtype <U1; parameters must be real numbers",
    "complex": r"array 'W' has dtype complex128; parameters must be real numbers",
    "nan": r"array 'W' contains NaN or infinity; a gradient check needs a finite point",
    "empty": r"--params .*empty.npz holds no arrays",
}


@pytest.mark.parametrize("case", list(PARAMS_ERRORS))
def test_a_params_file_that_does_not_fit_the_loss_is_exit_2(workdir, capsys, case):
    path = bad_params(workdir, case)
    code, _, _, err = run_cli(["gradcheck", "--data", "toy2d", "--params", str(path)], capsys)
    assert_one_line_error(code, err, PARAMS_ERRORS[case])


def test_an_object_array_in_a_params_file_is_exit_2(workdir, capsys):
    np.savez(workdir / "objects.npz", W=np.array([1, "a", None], dtype=object), b=np.ones(3))
    code, _, _, err = run_cli(["gradcheck", "--data", "toy2d", "--params", "objects.npz"], capsys)
    assert_one_line_error(code, err, "objects.npz")


@pytest.mark.parametrize("case", ["strings", "complex", "nan"])
def test_a_params_file_that_is_not_numbers_is_exit_2_for_a_function(workdir, module, capsys, case):
    name = module(SQUARES)
    path = bad_params(workdir, case)
    code, _, _, err = run_cli(
        ["gradcheck", "--function", f"{name}:f", "--params", str(path)], capsys
    )
    assert_one_line_error(code, err, PARAMS_ERRORS[case])


def test_a_model_file_can_be_the_params_of_a_built_in_loss(workdir, capsys):
    np.savez(
        workdir / "model.npz",
        W=np.full((2, 3), 0.1),
        b=np.zeros(3),
        class_names=np.array(["a", "b", "c"]),
    )
    args = ["gradcheck", "--data", "toy2d", "--params", "model.npz", "--loss", "softmax"]

    code, result, _, err = run_cli([*args, "--json"], capsys)

    assert code == 0 and result["passed"] is True
    assert "--params model.npz: checking W and b; ignoring class_names" in err


# ---------------------------------------------------------------- summary of long checks


def test_more_than_30_rows_are_summarized_and_the_max_error_is_a_shown_row(workdir, capsys):
    # digits: W (64, 10) and b (10,); 40 checks per array give 50 rows.
    args = ["gradcheck", "--num-checks", "40", "--loss", "softmax"]

    code, _, out, _ = run_cli(args, capsys)

    lines = out.splitlines()
    rows = [line for line in lines if re.match(r"^[Wb]\[", line)]
    assert code == 0 and len(rows) == 10
    summary = next(line for line in lines if line.startswith("50 rows: "))
    counted = re.findall(r"(\d+) ([a-zA-Z -]+?)(?:,|$)", summary.removeprefix("50 rows: "))
    assert sum(int(count) for count, _ in counted) == 50
    assert "the 10 rows closest to failing (--show-all-rows lists all 50):" in lines
    verdict = next(line for line in lines if line.startswith("excellent: "))
    worst = re.search(r"max relative error (\S+) at (\S+, \d+\]|\S+\])", verdict)
    first_ok = next(row for row in rows if row.endswith("   ok"))
    assert first_ok.startswith(worst.group(2))  # the row named by the max tops the table
    assert f"rel {worst.group(1)}" in first_ok


def test_show_all_rows_prints_every_row(workdir, capsys):
    args = ["gradcheck", "--num-checks", "40", "--show-all-rows"]
    code, _, out, _ = run_cli(args, capsys)
    assert code == 0
    assert len([line for line in out.splitlines() if re.match(r"^[Wb]\[", line)]) == 50
    assert "closest to failing" not in out


def test_full_prints_a_summary_of_all_650_rows(workdir, capsys):
    code, result, _, err = run_cli(["gradcheck", "--full", "--json", "--loss", "svm"], capsys)

    assert code == 0 and len(result["rows"]) == 650  # the JSON keeps every row
    assert sum(result["counts"].values()) == 650
    assert len([line for line in err.splitlines() if re.match(r"^[Wb]\[", line)]) == 10
    smooth = [row for row in result["rows"] if row["kind"] == "smooth"]
    assert result["max_rel_error"] == max(row["rel_error"] for row in smooth)


def test_the_reason_names_the_rows_left_out_of_the_max(workdir, module, capsys):
    # A kink at W[0, 0] = 0 and a slope of 1e-14 at W[0, 1]: both show large relative errors
    # in the table, and the reason says why neither is in the max.
    name = module(
        """
        import numpy as np

        def f(params):
            W = params["W"].ravel()
            loss = abs(W[0]) + 1e-14 * W[1] ** 2 + np.sum(W[2:] ** 3)
            grad = np.concatenate([[np.sign(W[0])], [2e-14 * W[1]], 3 * W[2:] ** 2])
            return loss, {"W": grad.reshape(params["W"].shape)}
        """
    )
    path = point(workdir, W=np.array([[0.0, 1.0, 0.5], [0.7, 0.9, 1.3]]))

    code, result, _, _ = run_cli(
        ["gradcheck", "--json", "--function", f"{name}:f", "--params", path], capsys
    )

    assert code == 0 and result["verdict"] == "excellent"
    assert result["reason"].endswith(
        "over 4 smooth rows; not in the max: 1 kink row (judged by one-sided slopes), "
        "1 row at the noise floor (equal to rounding)"
    )
    assert result["counts"] == {"ok": 4, "ok at noise floor": 1, "kink ok": 1}


# ---------------------------------------------------------------- your function's own output


PRINTS = {
    "when imported": """
        import numpy as np

        print("chatter from the module")

        def f(params):
            W = params["W"]
            return float(np.sum(W ** 2)), {"W": 2 * W}
        """,
    "when called": """
        import numpy as np

        def f(params):
            W = params["W"]
            print("chatter from f: loss", float(np.sum(W ** 2)))
            return float(np.sum(W ** 2)), {"W": 2 * W}
        """,
    "through sys.stdout": """
        import sys
        import numpy as np

        def f(params):
            sys.stdout.write("chatter from f\\n")
            return float(np.sum(params["W"] ** 2)), {"W": 2 * params["W"]}
        """,
}


@pytest.mark.parametrize("when", list(PRINTS))
def test_what_your_function_prints_goes_to_stderr_and_the_json_stays_valid(
    workdir, module, capsys, when
):
    # The function's print output landed on stdout before the JSON document: invalid JSON.
    name = module(PRINTS[when])
    args = ["gradcheck", "--function", f"{name}:f", "--params", point(workdir), "--json"]

    code = main(args)
    out, err = capsys.readouterr()

    assert code == 0
    assert json.loads(out)["passed"] is True  # the whole of stdout is one document
    assert "chatter from" in err


@pytest.mark.parametrize("when", list(PRINTS))
def test_what_your_function_prints_stays_out_of_the_text_report(workdir, module, capsys, when):
    name = module(PRINTS[when])
    code = main(["gradcheck", "--function", f"{name}:f", "--params", point(workdir)])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.startswith("gradient check of ") and "excellent: " in out
    assert "chatter from" not in out and "chatter from" in err


def test_stdout_is_restored_after_your_function_raises(workdir, module, capsys):
    name = module("def f(params):\n    print('about to fail')\n    return 1 / 0\n")
    stdout = sys.stdout
    code = main(["gradcheck", "--json", "--function", f"{name}:f", "--params", point(workdir)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and sys.stdout is stdout
    assert err.splitlines()[0] == "about to fail"


@pytest.mark.slow
def test_a_printing_function_gives_valid_json_in_a_real_process(workdir):
    (workdir / "chatty.py").write_text(textwrap.dedent(PRINTS["when called"]))
    np.savez(workdir / "point.npz", W=np.ones((2, 3)))
    done = subprocess.run(
        [sys.executable, "-m", "slopelab", "gradcheck", "--function", "chatty:f",
         "--params", "point.npz", "--json"],
        capture_output=True, text=True, cwd=workdir, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"] == "excellent"
    assert "chatter from f: loss 6.0" in done.stderr


# ---------------------------------------------------------------- the step h


@pytest.mark.parametrize("h", ["2", "3", "5", "10", "100", "0.002"])
def test_a_large_h_is_refused_before_anything_runs(workdir, module, capsys, h):
    # The tester's command: slopelab gradcheck --function mq:sm_wrong --params pt.npz --h 2
    # exited 0, "acceptable: ... 10 of 10 rows sit on a kink", for a 1.5x softmax gradient.
    name = module(
        """
        import numpy as np

        def sm_wrong(params):
            W = params["W"]
            shift = W.max()
            exps = np.exp(W - shift)
            return float(shift + np.log(exps.sum())), {"W": 1.5 * exps / exps.sum()}
        """
    )
    np.savez(workdir / "pt.npz", W=np.random.default_rng(0).standard_normal(10))
    args = ["gradcheck", "--function", f"{name}:sm_wrong", "--params", "pt.npz", "--h", h]

    code, _, out, err = run_cli([*args, "--json"], capsys)

    assert_one_line_error(code, err, rf"--h must be at most 0\.001; got {h}: a gradient check")
    assert out == "" and name not in sys.modules  # refused before the module was imported
    code, result, _, _ = run_cli([*args[:-2], "--h", "1e-3", "--json"], capsys)
    assert code == 1 and result["passed"] is False  # at the largest h accepted, it fails


@pytest.mark.parametrize("loss", ["softmax", "svm", "svm-ova", "svm-structured"])
@pytest.mark.parametrize("h", ["1e-3", "1e-5", "1e-7"])
def test_every_built_in_loss_passes_at_the_accepted_steps(workdir, capsys, loss, h):
    code, result, _, _ = run_cli(["gradcheck", "--loss", loss, "--h", h, "--json"], capsys)
    assert code == 0 and result["passed"] is True, result["reason"]
