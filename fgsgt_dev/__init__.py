"""Development helpers that are not shipped (setup.py installs only ``fgsgt_ros``): the node test
harness (``testing``), the hostile-message fuzzer (``fuzzing``) and the lockstep node replay
(``replay``), used by the tests (``test/conftest.py`` puts the repository root on ``sys.path``)
and the benches (which put it there themselves)."""
