#!/usr/bin/env python3
"""Markdown report of one benchmark run (scripts/bench.sh).

Reads the analyses that scripts/bench/analysis-template.hbs wrote into a directory (one JSON
file per pallet: the base and per-component slopes of execution time, reads, writes and proof
size, exactly what weight files are generated from) and prints every call's weight with the
ratios the performance targets name.

    python3 scripts/bench/report.py target/bench pallets/session-keys/src/weights.rs > report.md

The runtime constants it needs (database weights, block limits, `MaxExpiriesPerBlock`) come from
`target/bench/constants.json`, which scripts/bench.sh writes with the runtime's own values
(`target/debug/session-keys-bench-constants`).
"""

import json
import pathlib
import re
import sys

# The runtime's constants, in picoseconds of ref_time: `DbWeight` per read and write, the block's
# limit and the normal class's share of it; and `MaxExpiriesPerBlock`. Read from the analyses'
# directory (scripts/bench.sh writes them from the runtime) when the report runs.
DB_READ_PS = DB_WRITE_PS = MAX_BLOCK_PS = NORMAL_BLOCK_PS = MAX_EXPIRIES_PER_BLOCK = None


def load_constants(directory):
    """Sets the runtime's constants from `constants.json` in the analyses' directory."""
    global DB_READ_PS, DB_WRITE_PS, MAX_BLOCK_PS, NORMAL_BLOCK_PS, MAX_EXPIRIES_PER_BLOCK
    constants = json.loads((pathlib.Path(directory) / "constants.json").read_text())
    DB_READ_PS = int(constants["db_read_ps"])
    DB_WRITE_PS = int(constants["db_write_ps"])
    MAX_BLOCK_PS = int(constants["max_block_ps"])
    NORMAL_BLOCK_PS = int(constants["normal_block_ps"])
    MAX_EXPIRIES_PER_BLOCK = int(constants["max_expiries_per_block"])


class Bench:
    """One benchmark's regression: weight = base + sum(slope * component)."""

    def __init__(self, raw):
        self.name = raw["name"]
        self.base = {
            "exec": int(raw["base_weight"]),
            "reads": int(raw["base_reads"]),
            "writes": int(raw["base_writes"]),
            "proof": int(raw["base_proof_size"]),
        }
        self.slopes = {"exec": {}, "reads": {}, "writes": {}, "proof": {}}
        for key, field in [
            ("exec", "component_weight"),
            ("reads", "component_reads"),
            ("writes", "component_writes"),
            ("proof", "component_proof_size"),
        ]:
            for c in raw[field]:
                self.slopes[key][c["name"]] = int(c["slope"])
        self.ranges = {c["name"]: (int(c["min"]), int(c["max"])) for c in raw["component_ranges"]}

    def at(self, key, **components):
        """`key` (exec, reads, writes, proof) with the components given; the others at max."""
        total = self.base[key]
        for name, slope in self.slopes[key].items():
            value = components.get(name, self.ranges.get(name, (0, 0))[1])
            total += slope * value
        return total

    def slope(self, key, component):
        return self.slopes[key].get(component, 0)

    def ref_time(self, **components):
        """Execution plus the database accesses at the runtime's DbWeight, in picoseconds."""
        return (
            self.at("exec", **components)
            + self.at("reads", **components) * DB_READ_PS
            + self.at("writes", **components) * DB_WRITE_PS
        )

    def marginal_ref_time(self, component):
        return (
            self.slope("exec", component)
            + self.slope("reads", component) * DB_READ_PS
            + self.slope("writes", component) * DB_WRITE_PS
        )


def proof_sizes_from(weights_rs):
    """`name -> (base, {component: slope})` proof sizes of a weights.rs that
    scripts/bench/weight-template.hbs generated (the analysis made from raw results lacks the
    storage info they are estimated from)."""
    sizes, name = {}, None
    for line in pathlib.Path(weights_rs).read_text().splitlines():
        line = line.strip()
        found = re.match(r"fn (\w+)\(.*\) -> Weight \{$", line)
        if found:
            name = found.group(1)
            continue
        base = re.match(r"Weight::from_parts\(([\d_]+), ([\d_]+)\)$", line)
        if name and base and name not in sizes:
            sizes[name] = (int(base.group(2).replace("_", "")), {})
            continue
        slope = re.match(r"\.saturating_add\(Weight::from_parts\(0, ([\d_]+)\)\.saturating_mul\((\w+)\.into\(\)\)\)$", line)
        if name in sizes and slope:
            sizes[name][1][slope.group(2)] = int(slope.group(1).replace("_", ""))
        if line == "}":
            name = None
    return sizes


def load(directory):
    pallets, meta = {}, {}
    for path in sorted(pathlib.Path(directory).glob("*.json")):
        if path.name.endswith(".raw.json") or path.name == "constants.json":
            continue
        data = json.loads(path.read_text())
        pallets[data["pallet"]] = {b["name"]: Bench(b) for b in data["benchmarks"]}
        meta[data["pallet"]] = data
    return pallets, meta


def us(ps):
    return f"{ps / 1_000_000:,.1f}"


def verdict(ok):
    return "met" if ok else "**missed**"


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "target/bench"
    load_constants(directory)
    pallets, meta = load(directory)
    ours = pallets["pallet_session_keys"]
    if len(sys.argv) > 2:
        for name, (base, slopes) in proof_sizes_from(sys.argv[2]).items():
            if name in ours:
                ours[name].base["proof"] = base
                ours[name].slopes["proof"] = slopes
    verify = pallets["frame_benchmarking"]["sr25519_verification"]
    transfer = pallets["pallet_balances"]["transfer_keep_alive"]
    set_keys = pallets["pallet_session"]["set_keys"]
    run = meta["pallet_session_keys"]

    out = []
    p = out.append
    p("# Benchmark report")
    p("")
    p(
        f"One run of `scripts/bench.sh` (STEPS={run['steps']}, REPEAT={run['repeat']}, "
        f"CPU `{run['cpu']}`), release node with `runtime-benchmarks`, wasm runtime executed "
        "by wasmtime (compiled)."
    )
    p("")
    p(
        "*Execution* is the measured time of the call in the runtime. *ref_time* adds the "
        f"runtime's database weights (ParityDb: {us(DB_READ_PS)} µs per read, "
        f"{us(DB_WRITE_PS)} µs per write), as the generated weight functions charge. Calls "
        "with components are shown at the components' maximum (the worst case); the last "
        "column gives the slopes."
    )
    p("")
    p("## `pallet_session_keys`")
    p("")
    p("| call | execution µs | reads | writes | ref_time µs | proof size B | per component |")
    p("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, b in ours.items():
        slopes = ", ".join(
            f"{c}: +{us(b.slope('exec', c))} µs, +{b.slope('reads', c)} r, "
            f"+{b.slope('writes', c)} w (max {b.ranges[c][1]})"
            for c in b.ranges
        )
        p(
            f"| `{name}` | {us(b.at('exec'))} | {b.at('reads')} | {b.at('writes')} | "
            f"{us(b.ref_time())} | {b.at('proof')} | {slopes} |"
        )
    p("")
    p("## Reference calls (same run)")
    p("")
    p("| call | execution µs | reads | writes | ref_time µs | proof size B |")
    p("| --- | ---: | ---: | ---: | ---: | ---: |")
    per_verification = verify.slope("exec", "i")
    p(f"| one `sr25519_verification` (slope per signature) | {us(per_verification)} | 0 | 0 | "
      f"{us(per_verification)} | 0 |")
    for label, b in [
        ("`pallet_balances::transfer_keep_alive`", transfer),
        ("`pallet_session::set_keys`", set_keys),
        ("`pallet_session::purge_keys`", pallets["pallet_session"]["purge_keys"]),
    ]:
        p(
            f"| {label} | {us(b.at('exec'))} | {b.at('reads')} | {b.at('writes')} | "
            f"{us(b.ref_time())} | {b.at('proof')} |"
        )
    p("")

    p("## Ratios")
    p("")
    p("| ratio | execution | ref_time | target | |")
    p("| --- | ---: | ---: | --- | --- |")
    for kind in ["sr25519", "ed25519", "ecdsa"]:
        reg = ours[f"register_{kind}"]
        exec_ratio = reg.at("exec") / per_verification
        full_ratio = reg.ref_time() / per_verification
        target = "<= 1.5 (execution)" if kind == "sr25519" else ""
        mark = verdict(exec_ratio <= 1.5) if kind == "sr25519" else ""
        p(f"| `register_{kind}` / one sr25519 verification | {exec_ratio:.2f} | "
          f"{full_ratio:.2f} | {target} | {mark} |")
    for name in ["renew", "revoke"]:
        b = ours[name]
        p(f"| `{name}` / `transfer_keep_alive` | {b.at('exec') / transfer.at('exec'):.2f} | "
          f"{b.ref_time() / transfer.ref_time():.2f} | reported | |")
    reg = ours["register_sr25519"]
    p(f"| `register_sr25519` / `pallet_session::set_keys` | "
      f"{reg.at('exec') / set_keys.at('exec'):.2f} | {reg.ref_time() / set_keys.ref_time():.2f} "
      "| reported | |")
    p("")

    idle = ours["on_initialize_idle"]
    expire = ours["on_initialize_expire"]
    per_key = expire.marginal_ref_time("k")
    full_block = expire.ref_time(k=MAX_EXPIRIES_PER_BLOCK, s=0)
    p("## `on_initialize`")
    p("")
    p(f"- Nothing due: {idle.at('reads')} read(s), {idle.at('writes')} write(s), "
      f"{us(idle.ref_time())} µs ref_time (target: at most one read: "
      f"{verdict(idle.at('reads') <= 1)}).")
    p(f"- Each session settled when its closing window ends (pay the counterpart, burn the "
      f"record fee, release collateral and deposit, retire the key): +{us(expire.slope('exec', 'k'))} µs execution, "
      f"+{expire.slope('reads', 'k')} reads, +{expire.slope('writes', 'k')} writes: "
      f"+{us(per_key)} µs ref_time per key ({per_key / transfer.ref_time():.2f} x "
      "`transfer_keep_alive`).")
    p(f"- Each empty queued block stepped past in a backlog: "
      f"+{us(expire.marginal_ref_time('s'))} µs ref_time.")
    p(f"- A block at `MaxExpiriesPerBlock` = {MAX_EXPIRIES_PER_BLOCK} settlements: "
      f"{us(full_block)} µs, {100 * full_block / MAX_BLOCK_PS:.1f} % of the block's "
      f"{us(MAX_BLOCK_PS)} µs ({100 * full_block / NORMAL_BLOCK_PS:.1f} % of the normal "
      "class's share).")
    p("")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
