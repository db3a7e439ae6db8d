#!/usr/bin/env python3
"""Write the seed corpora of the token and url targets (fuzz/seeds/token,
fuzz/seeds/url) from tests/vectors/tokens.json and the URLs the docs show.
The c_abi seeds are inputs the fuzzer found (its `arbitrary` format is not
written by hand): the 40 largest of a `-set_cover_merge=1` of a minute's
corpus (fuzz/README.md).
Run from anywhere: python3 fuzz/seeds/make.py"""
import base64, hashlib, json, pathlib

here = pathlib.Path(__file__).resolve().parent
root = here.parent.parent


def write(target, data):
    d = here / target
    d.mkdir(exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


vectors = json.loads((root / "tests/vectors/tokens.json").read_text())
for v in vectors["valid"] + vectors["invalid"]:
    token = v["token"]
    write("token", b"\0" + token.encode())  # mode 0: the string as written
    body = token[5:] if token.startswith("flk1.") else None
    if body is not None:
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except Exception:
            continue
        write("token", b"\1" + payload)  # mode 1: the payload, wrapped by the target
# mode 2: edits (offset u16, xor u8) of a freshly minted token's payload;
# a lone last byte truncates. Offsets per docs/TOKEN.md: 1 backend, 2 mode,
# 20 fence, 36 ttl, 44 namespace length, then the namespace and the name.
for edits in [b"", b"\0\1\x01", b"\0\2\x01", b"\0\x14\xff", b"\0\x2b\xff", b"\0\x24\xff",
              b"\0\x2c\x01", b"\0\x35\x20", b"\x10\0\x41", b"\x30"]:
    write("token", b"\2" + edits)

urls = [
    "memory://", "memory://store?namespace=app&holder=me&bypass=1", "memory://%41%42?x=1",
    "sqlite://locks.db", "sqlite:///var/lib/app/locks.db?namespace=app", "sqlite:///tmp/a@b/locks.db",
    "sqlite://", "redis://127.0.0.1:6379", "redis://bob:hunter2@h:6379/0", "redis://:s3cret@h",
    "redis://h1:1,h2:2,h3:3/2?namespace=x", "redis://h1,h2,h3", "redis://host:6379,",
    "redis+cluster://h1:7000,h2:7001", "redis+cluster://user:pass@h1:1,h2:2",
    "rediss://host:6380?ca=ca.pem", "rediss://h?ca=/path/ca.pem&cert=c.pem&key=k.pem",
    "rediss+cluster://:pw@h1:1,h2:2", "redis://[::1]:6379", "Redis://H:notaport", "ftp://bob:hunter2@host",
    "postgres://u:p@h/db", "couchbase://h", "nothing",
]
for u in urls:
    write("url", u.encode())
