#!/usr/bin/env python3
"""Aggregate decode throughput of `trident serve` under concurrent streaming clients.

usage: serve-load.py URL CLIENTS MAX_TOKENS [ROUNDS]
Each of CLIENTS threads streams one /v1/completions request (greedy, a different prompt each)
of MAX_TOKENS tokens, all started together; prints generated tokens / wall seconds over all of
them (docs/serve.md, "Slots and scheduling"). Not a test: the numbers depend on the host.
"""
import json
import sys
import threading
import time
import urllib.request


def stream(url, prompt, max_tokens, out, i):
    body = json.dumps({"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True}).encode()
    req = urllib.request.Request(url + "/v1/completions", body, {"Content-Type": "application/json"})
    tokens = 0
    with urllib.request.urlopen(req) as r:
        for line in r:
            line = line.decode().strip()
            if line.startswith("data: {"):
                usage = json.loads(line[6:]).get("usage")
                if usage:
                    tokens = usage["completion_tokens"]
    out[i] = tokens


def main():
    url, clients, max_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    for _ in range(rounds):
        out = [0] * clients
        threads = [threading.Thread(target=stream, args=(url, f"Request {i}: once upon a time", max_tokens, out, i))
                   for i in range(clients)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.time() - t0
        print(f"{clients} clients: {sum(out)} tokens in {seconds:.2f} s = {sum(out) / seconds:.1f} tok/s")


if __name__ == "__main__":
    main()
