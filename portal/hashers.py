"""Password hashing parameters chosen for the machines the portal runs on."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class PortalArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's first recommended profile: m=46 MiB, t=1, p=1.

    Django's default (m=100 MiB, t=2, p=8) took about 300 ms per hash on the 2-core machine
    (bench/login_bench.py), which caps logins at a handful a second at the morning peak. One lane
    is as fast as eight there (two cores cannot run eight lanes at once) and costs an attacker's
    GPU the same memory per guess; 46 MiB for one pass stays memory-hard (OWASP Password Storage
    Cheat Sheet, 2023) at about 80 ms. The algorithm name stays "argon2": older hashes verify,
    and Django re-hashes them with these parameters at the next login.
    """

    time_cost = 1
    memory_cost = 47104  # KiB (46 MiB)
    parallelism = 1
