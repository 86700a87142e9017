"""A test file that cannot load: pummel must say why and stop."""

import pummel
import a_module_that_does_not_exist  # noqa: F401


class Broken(pummel.TestCase):
    def test_nothing(self):
        pass
