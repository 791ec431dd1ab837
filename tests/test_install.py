"""The package installs as a library: a plain (non-editable) ``pip install .`` carries the config
tree, ``sim.simulate`` and ``python -m sim`` work from any folder, and the checkout is left as
it was (no ``build/``, no ``*.egg-info``).

Cheap enough for every CI run and downloads nothing: a fresh venv without pip, which sees the
dependencies of the interpreter running the tests through a ``.pth`` line (the parent's
site-packages is put on its path; the ``.pth`` files there, such as an editable install of
this project, are not run), and the parent's pip installing the checkout into it without
build isolation, dependencies or an index.
"""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The environment without PYTHONPATH, so that nothing but the install under test is found.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def run_in(folder: Path, *command) -> subprocess.CompletedProcess:
    """``command`` run in ``folder``, its output captured; it must succeed."""
    done = subprocess.run(command, cwd=folder, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def test_a_plain_pip_install_works_from_any_folder_and_leaves_the_checkout_clean(tmp_path):
    before = sorted(os.listdir(ROOT))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run_in(tmp_path, sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
           "--no-deps", "--no-build-isolation", "--no-index", str(ROOT))  # fmt: skip
    assert sorted(os.listdir(ROOT)) == before, "the build left files in the checkout"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import sim, hydra_plugins.beyond_adoption as p; from sim.paths import conf_dir; "
        "print(sim.__file__); print(conf_dir()); print(p.__file__); "
        "print(sim.simulate(['weeks=4', 'org.size=50']).summary['weeks'])"
    )
    module, conf, plugins, weeks = run_in(elsewhere, python, "-c", code).stdout.split()
    assert Path(module).is_relative_to(venv), "imported the checkout, not the installed copy"
    assert Path(plugins).is_relative_to(venv)  # the ensemble launcher, where Hydra looks
    assert Path(conf) == Path(purelib, "sim", "conf") and weeks == "4"
    assert {p.name for p in Path(conf).iterdir()} >= {"config.yaml", "org", "scenario"}

    run_in(elsewhere, python, "-m", "sim", "weeks=4", "org.size=50", "output.dir=runs",
           "output.plot=false")  # fmt: skip
    assert len(list((elsewhere / "runs").glob("*/summary.json"))) == 1


def test_the_editable_install_works_from_any_folder(tmp_path):
    """``make setup`` installs the checkout in editable mode, whose import hook hides the
    ``hydra_plugins`` namespace from Hydra's plugin scan: a script or notebook outside the
    checkout once found no ``hydra/launcher/ensemble``, and a sweep no launcher class. Run with
    this interpreter (the editable install under test) from a folder outside the checkout."""
    code = "import sim; print(sim.simulate(['weeks=3', 'org.size=40']).summary['weeks'])"
    assert run_in(tmp_path, sys.executable, "-c", code).stdout.split()[-1] == "3"
    run_in(tmp_path, sys.executable, "-m", "sim", "-m", "seed=1,2", "weeks=3", "org.size=40",
           "output.plot=false", f"hydra.sweep.dir={tmp_path / 'sweep'}")  # fmt: skip
    assert len(list((tmp_path / "sweep").glob("*/summary.json"))) == 2
