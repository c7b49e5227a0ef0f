"""Anti-pattern: a MemoryDB user whose password is written in the program."""

import pulumi_aws as aws

aws.memorydb.User("sessions-app", user_name="sessions-app", access_string="on ~sessions:* +@all",
                  authentication_mode={"type": "password", "passwords": ["memorydb-Sessions-2026"]})
