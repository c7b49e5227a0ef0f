"""Anti-pattern: a test card number left in a stack output after debugging checkout."""

import pulumi

pulumi.export("lastCheckoutCard", "4242 4242 4242 4242")
