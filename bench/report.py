"""
report.py - the benchmark's Markdown table and PNG plot.

What it does: formats the rows of bench.py (one figure per system, or a "not run: REASON" text)
with the ratio Posthorn / peer and whether the target of issue 6 is met, and draws one bar per
measured row: the advantage factor (peer / Posthorn where lower is better, Posthorn / peer where
higher is better; above 1 means Posthorn is better) on a log scale, with the target marked.

What it does not do: fill in a missing figure. A row with a figure on one side only has no ratio.
"""


def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fmt(v):
    if v is None:
        return "not run"
    if not num(v):
        return str(v).replace("|", "/")
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def merge_previous(rows, path, not_selected="not run: load not selected"):
    """For a partial run (BENCH_ONLY): rows not measured now take their figures from the
    previous results.md, as printed there. Returns that file's date, or None."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    prev, date = {}, None
    for line in text.splitlines():
        if line.startswith("- date: "):
            date = line[8:].strip()
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and not line.startswith("|---"):
            prev[(cells[0], cells[1])] = (cells[3], cells[4])

    def value(text):
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return text

    used = False
    for r in rows:
        old = prev.get((r.load, r.param))
        if old is None:
            continue
        if r.ph == not_selected:
            r.ph = value(old[0])
            used = True
        if r.peer == not_selected:
            r.peer = value(old[1])
            used = True
    return date if used else None


def advantage(r):
    if not (num(r.ph) and num(r.peer)) or r.ph <= 0 or r.peer <= 0:
        return None
    return r.ph / r.peer if r.higher_better else r.peer / r.ph


def markdown(rows, meta):
    out = [f"# Posthorn vs Postfix + Dovecot", "",
           f"- date: {meta['date']}",
           f"- machine: {meta['machine']}",
           f"- mode: {meta['mode']}, run time {meta['duration']}",
           f"- versions: {meta['versions']}",
           "- ratio = Posthorn / peer; \"better\" = how many times better Posthorn is "
           "(peer / Posthorn where lower is better)", "",
           "| load | parameters | unit | Posthorn | Postfix+Dovecot | ratio | better | target |",
           "|---|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        ratio = f"{r.ph / r.peer:.2f}" if num(r.ph) and num(r.peer) and r.peer else "–"
        adv = advantage(r)
        better = f"{adv:.2f}×" if adv is not None else "–"
        if r.target is None:
            tgt = ""
        elif adv is None:
            tgt = f"{r.target[1]}: not measured"
        else:
            tgt = f"{r.target[1]}: {'met' if adv >= r.target[0] else 'missed'}"
        unit = r.unit + (" (lower is better)" if not r.higher_better else "")
        out.append(f"| {r.load} | {r.param} | {unit} | {fmt(r.ph)} | {fmt(r.peer)} | {ratio} | "
                   f"{better} | {tgt} |")
    out.append("")
    return "\n".join(out)


def plot(rows, meta, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(f"{r.load}: {r.param}", advantage(r), r.target) for r in rows]
    shown = [s for s in shown if s[1] is not None]
    fig, ax = plt.subplots(figsize=(12, 0.38 * max(len(shown), 4) + 1.6))
    if not shown:
        ax.text(0.5, 0.5, "no load measured on both systems", ha="center", va="center")
        ax.set_axis_off()
    else:
        labels = [s[0] for s in shown]
        vals = [s[1] for s in shown]
        colors = ["#2a7" if v >= 1 else "#c44" for v in vals]
        y = range(len(shown))
        ax.barh(y, vals, color=colors)
        for i, s in enumerate(shown):
            if s[2] is not None:
                ax.plot([s[2][0], s[2][0]], [i - 0.4, i + 0.4], color="black", linewidth=2)
            ax.text(s[1], i, f" {s[1]:.2f}×", va="center", fontsize=8)
        ax.set_yticks(list(y))
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1, color="grey", linestyle="--")
        ax.set_xlabel("advantage of Posthorn (×, log scale; >1 = Posthorn better; "
                      "black tick = target of issue 6)")
    ax.set_title(f"Posthorn vs Postfix+Dovecot, {meta['date']}, {meta['mode']}\n"
                 f"{meta['machine']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
