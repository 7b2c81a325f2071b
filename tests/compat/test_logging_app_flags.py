"""tf.logging, tf.app.run and tf.flags of estcore.compat.v1 (TF 1.15 behaviour)."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest

import estcore.compat.v1 as tf

pytestmark = pytest.mark.smoke


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=120)


def test_tf_logging_levels_are_tf1s():
    assert (tf.logging.DEBUG, tf.logging.INFO, tf.logging.WARN, tf.logging.ERROR,
            tf.logging.FATAL) == (10, 20, 30, 40, 50)


def test_set_verbosity_takes_a_level_name_from_the_command_line():
    # cloudml-samples: parser.add_argument("--verbosity", choices=["DEBUG", "INFO", ...]);
    # tf.logging.set_verbosity(args.verbosity)
    r = _run("""
        import sys
        import estcore.compat.v1 as tf
        tf.logging.set_verbosity(sys.argv[1])
        tf.logging.info("shown")
        tf.logging.debug("hidden")
        assert tf.logging.get_verbosity() == tf.logging.INFO
    """, "INFO")
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == ["INFO:tensorflow:shown"]


def test_set_verbosity_with_an_unknown_level_name_is_a_value_error():
    with pytest.raises(ValueError, match=r"level names are upper-case: 'INFO'.*v='info'"):
        tf.logging.set_verbosity("info")


def test_set_verbosity_shows_user_and_estimator_info_lines():
    r = _run("""
        import logging
        import estcore.compat.v1 as tf
        tf.logging.info("hidden before set_verbosity")
        tf.logging.set_verbosity(tf.logging.INFO)
        tf.logging.info("user %s", "line")
        logging.getLogger("estcore").info("Saving checkpoints for 0")
        tf.logging.debug("hidden debug")
        assert tf.logging.get_verbosity() == tf.logging.INFO
    """)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == ["INFO:tensorflow:user line",
                                     "INFO:estcore:Saving checkpoints for 0"]


def test_warnings_show_by_default_as_in_tf1():
    r = _run("""
        import estcore.compat.v1 as tf
        tf.logging.warning("careful")
        tf.logging.info("not shown")
    """)
    assert r.stderr == "WARNING:tensorflow:careful\n"


def test_app_run_parses_flags_and_passes_the_rest_to_main():
    r = _run("""
        import estcore.compat.v1 as tf
        tf.app.flags.DEFINE_integer("steps", 10, "training steps")
        tf.flags.DEFINE_string(flag_name="model_dir", default_value="/tmp/x", docstring="d")
        FLAGS = tf.app.flags.FLAGS

        def main(argv):
            print(FLAGS.steps, FLAGS.model_dir, argv[1:])
            return 0

        if __name__ == "__main__":
            tf.app.run()
    """, "--steps=25", "extra", "--unknown=1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "25 /tmp/x ['extra', '--unknown=1']\n"


@pytest.mark.parametrize("call", ["tf.app.run(main)", "tf.app.run(main=main)",
                                  "tf.app.run(main=main, argv=[sys.argv[0]] + ['--lr=0.5'])"])
def test_app_run_forms_and_exit_status(call):
    r = _run(f"""
        import sys
        import estcore.compat.v1 as tf
        tf.flags.DEFINE_float("lr", 0.1, "learning rate")

        def main(argv):
            print(tf.flags.FLAGS.lr)
            return 3

        {call}
    """, "--lr=0.25")
    assert r.returncode == 3, r.stderr
    assert r.stdout == ("0.5\n" if "argv=" in call else "0.25\n")


def test_a_bad_flag_value_exits_1_with_the_error():
    r = _run("""
        import estcore.compat.v1 as tf
        tf.flags.DEFINE_integer("steps", 1, "")
        tf.app.run(lambda argv: 0)
    """, "--steps=many")
    assert r.returncode == 1
    assert "FATAL Flags parsing error" in r.stderr and "steps" in r.stderr


def test_flags_read_outside_run_parse_sys_argv_first():
    r = _run("""
        import estcore.compat.v1 as tf
        tf.flags.DEFINE_integer("batch", 8, "")
        print(tf.flags.FLAGS.batch)
    """, "--batch=32")
    assert r.stdout == "32\n", r.stderr


def test_app_run_without_main_names_the_problem():
    with pytest.raises(ValueError, match="pass main=<your function>"):
        tf.app.run(argv=["prog"])


def test_tf_logging_does_not_touch_the_root_logger(monkeypatch):
    for name in ("estcore", "tensorflow"):     # restored after: other tests read them
        lg = logging.getLogger(name)
        monkeypatch.setattr(lg, "level", lg.level)
        monkeypatch.setattr(lg, "handlers", list(lg.handlers))
    before = list(logging.getLogger().handlers)
    tf.logging.set_verbosity(tf.logging.WARN)
    assert logging.getLogger().handlers == before
    assert logging.getLogger("estcore").level == logging.getLogger("tensorflow").level == 30
