#!/usr/bin/env python3
"""Seeds the fuzz corpora from the captured Go vectors in ../tests/vectors/.

corpus/decode_packet/: every captured packet, and each connection's client and server byte
streams; corpus/decode_stamp/: every timestamp encoding and decode input.
"""
import hashlib
import json
import pathlib

here = pathlib.Path(__file__).resolve().parent
vectors = here.parent / "tests" / "vectors"


def write(target, data):
    out = here / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


streams = {}
for line in (vectors / "transcript.jsonl").read_text().splitlines():
    v = json.loads(line)
    raw = bytes.fromhex(v["hex"])
    write("decode_packet", raw)
    key = (v["conn"], v["direction"])
    streams[key] = streams.get(key, b"") + raw
for raw in streams.values():
    write("decode_packet", raw[:16384])

for line in (vectors / "timestamps.jsonl").read_text().splitlines():
    v = json.loads(line)
    write("decode_stamp", bytes.fromhex(v.get("hex") or v.get("input_hex") or ""))

for target in ("decode_packet", "decode_stamp"):
    print(target, len(list((here / "corpus" / target).iterdir())), "seed files")
