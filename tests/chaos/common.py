"""What every chaos worker shares: talking to the fenced store and writing
its own record (JSON lines: one object per event, with the worker's pid)."""
import json
import os
import socket
import time


class Store:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.file = self.sock.makefile("rw", buffering=1)

    def write(self, fence: int, holder: str, phase: str) -> bool:
        """Whether the store accepted the write (False: a stale fence)."""
        self.file.write(f"W {fence} {holder} {phase}\n")
        self.file.flush()
        return self.file.readline().startswith("OK")


class Record:
    def __init__(self, path: str, language: str) -> None:
        self.out = open(path, "a", buffering=1)
        self.base = {"pid": os.getpid(), "lang": language}

    def __call__(self, ev: str, **fields: object) -> None:
        self.out.write(json.dumps({**self.base, "ev": ev, "t_ns": time.time_ns(), **fields}) + "\n")
