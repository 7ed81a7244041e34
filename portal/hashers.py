"""Password hashing parameters chosen for the machines the portal runs on."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class PortalArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's minimum configuration: m=19 MiB, t=2, p=1.

    Django's default (m=100 MiB, t=2, p=8) took about 300 ms per hash on the 2-core machine
    (bench/login_bench.py), which caps logins at a handful a second at the morning peak. One lane
    is as fast as eight there (two cores cannot run eight lanes at once) and costs an attacker's
    GPU the same memory per guess. OWASP's Password Storage Cheat Sheet lists m=19 MiB, t=2 and
    m=46 MiB, t=1 (both p=1) as equivalent in strength; on this machine the first verifies in
    about 45 ms against about 60 ms for the second (the hash was most of a login's CPU: see
    docs/SCALING.md), so it is the one used. The algorithm name stays "argon2": older hashes
    verify, and Django re-hashes them with these parameters at the next login.
    """

    time_cost = 2
    memory_cost = 19456  # KiB (19 MiB)
    parallelism = 1
