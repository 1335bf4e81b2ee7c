"""Staff passwords: `hall hash-password` makes Argon2id at OWASP's minimum; a config's older
scrypt hashes still log in, and `hall serve` names the people who have them."""
from __future__ import annotations

import re

from queue_server import passwords
from served_hall import call, hall_config, run_hall, served

# What `hall hash-password` made before Argon2id (werkzeug scrypt, N=2^15) for "test1234".
OLD_HASH = ("scrypt:32768:8:1$Z8bsmruNNh6FpgL2$543755d0144d43b9cdd534b5e450b723c2b30e291b899f0364466eee7e37db08"
            "ef9ba67e495ea28a14e43ae2338c95841862911cb788328e2440cc893574d098")


def test_a_new_hash_is_argon2id_at_owasps_minimum_and_checks_only_its_password():
    made = passwords.hash_password("窗口密码-2026")
    assert passwords.kind(made) == "$argon2id$v=19$m=19456,t=2,p=1" and passwords.is_current(made)
    assert passwords.problem(made) is None
    assert passwords.check_password(made, "窗口密码-2026")
    assert not passwords.check_password(made, "窗口密码-2025")
    assert not passwords.check_password(made[:-4] + "AAAA", "窗口密码-2026")       # a digest changed by hand
    assert not passwords.check_password(made.replace("m=19456", "m=oops"), "窗口密码-2026")
    assert passwords.check_password(OLD_HASH, "test1234") and not passwords.is_current(OLD_HASH)


def test_the_command_prints_a_hash_the_config_takes(tmp_path):
    result = run_hall("hash-password", "--password", "窗口密码-2026")
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip()
    assert re.fullmatch(r"\$argon2id\$v=19\$m=19456,t=2,p=1\$\S+", printed)
    assert passwords.check_password(printed, "窗口密码-2026")


def test_an_older_hash_still_logs_in_and_serve_names_who_has_one(tmp_path):
    config = hall_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    first = text.index('password_hash = "')           # clerk01's, the first person in the file
    end = text.index('"', first + len('password_hash = "'))
    config.write_text(text[:first] + f'password_hash = "{OLD_HASH}"' + text[end + 1:], encoding="utf-8")
    with served(tmp_path, config) as (port, log):
        for name in ("clerk01", "clerk02"):                   # scrypt and Argon2id side by side
            status, body = call(port, "POST", "/api/v1/auth/login", {"username": name, "password": "test1234"})
            assert status == 200, body
        status, body = call(port, "POST", "/api/v1/auth/login", {"username": "clerk01", "password": "test12345"})
        assert (status, body["error"]["code"]) == (401, "unauthorized")
        said = log.read_text(encoding="utf-8")
    assert "旧式" in said and "clerk01 (scrypt:32768:8:1)" in said and "clerk02" not in said
