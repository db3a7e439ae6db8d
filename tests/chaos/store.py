#!/usr/bin/env python3
"""The fenced store of the chaos harness: a small separate process that
accepts a write only with a fence at least the highest it has seen, and
records every write (accepted or not) with its holder and the time.

Protocol, one line each way over TCP on 127.0.0.1:
    W <fence> <holder> <phase>   ->  OK | STALE <highest>
    Q                            ->  <holder> <fence> <phase> | - 0 -   (the last accepted write)
It listens on 127.0.0.1 (and on --also, same port); the port is printed on stdout once listening; the record goes to --log as
JSON lines {"seq", "t_ns", "fence", "holder", "phase", "accepted"}.
"""
import argparse
import json
import socketserver
import sys
import threading
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--also", help="a second address to listen on (the test's own network namespace's link)")
    args = ap.parse_args()
    out = open(args.log, "w", buffering=1)
    mutex = threading.Lock()
    state = {"highest": 0, "seq": 0, "last": ("-", 0, "-")}

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            try:
                self.serve()
            except ConnectionError:
                pass  # a worker killed mid-request: its record ends there

        def serve(self) -> None:
            for raw in self.rfile:
                parts = raw.decode().split()
                if not parts:
                    continue
                if parts[0] == "Q":
                    with mutex:
                        holder, fence, phase = state["last"]
                    self.wfile.write(f"{holder} {fence} {phase}\n".encode())
                    continue
                if parts[0] != "W" or len(parts) != 4:
                    self.wfile.write(b"ERR bad request\n")
                    continue
                fence, holder, phase = int(parts[1]), parts[2], parts[3]
                with mutex:
                    accepted = fence >= state["highest"]
                    if accepted:
                        state["highest"] = fence
                        state["last"] = (holder, fence, phase)
                    state["seq"] += 1
                    out.write(json.dumps({"seq": state["seq"], "t_ns": time.time_ns(), "fence": fence,
                                          "holder": holder, "phase": phase, "accepted": accepted}) + "\n")
                    highest = state["highest"]
                self.wfile.write(b"OK\n" if accepted else f"STALE {highest}\n".encode())

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    if args.also:
        threading.Thread(target=Server((args.also, port), Handler).serve_forever, daemon=True).start()
    print(port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
