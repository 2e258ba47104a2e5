"""What the soak prints: how the run went, the figures, the per-customer table and the verdict."""

from collections import Counter, defaultdict
from decimal import Decimal

from bench.soak_ledger import DOCUMENT_LABELS, Ledger

SHOWN = 8  # lines shown per kind of finding; the count says how many there are
TABLE = "{:<9} {:>12} {:>12} {:>11} {:>5} {:>11} {:>5} {:>11} {:>12}"
HEADINGS = (
    "customer",
    "PayTrace net",
    "ERP net",
    "difference",
    "dead",
    "dead amt",
    "held",
    "held amt",
    "unexplained",
)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _seconds(value: float | None, *, absent: str) -> str:
    return f"{value:.1f} s" if value is not None else absent


def _run_lines(run) -> list[str]:
    traffic, deliveries, watch = run.traffic, run.deliveries, run.watch
    lines = [", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.timings.items())]
    if traffic is not None:
        lines.append(
            f"load: {traffic.created} PayTrace transactions made of {run.transactions} "
            f"({traffic.sales} sales approved, {traffic.declined} declined, {traffic.refunds_full} full "
            f"and {traffic.refunds_partial} partial refunds), {traffic.voids} voids, "
            f"{traffic.settlements} settlements, {traffic.unannounced} sales never announced"
        )
        if traffic.failed_calls:
            lines.append(
                "  PayTrace calls that failed (they may have happened: only the sync can tell): "
                + ", ".join(f"{what} x{count}" for what, count in traffic.failed_calls.most_common())
            )
    if deliveries is not None:
        answers = ", ".join(
            f"{status or 'none'} x{count}" for status, count in sorted(deliveries.answers.items())
        )
        lines.append(
            f"webhooks: {deliveries.events} events in {deliveries.deliveries} deliveries: "
            f"{deliveries.duplicates_concurrent} duplicated at the same instant, "
            f"{deliveries.duplicates_later} later, {deliveries.late} late, {deliveries.out_of_order} "
            f"delivered after a later event of the same sale; {deliveries.redelivered} redelivered after "
            f"an error, {deliveries.undelivered} given up; "
            f"answers: {answers}"
        )
    if run.fault_rates:
        rates = ", ".join(f"{name} {rate:.3f}" for name, rate in run.fault_rates.items())
        lines.append(f"ERP faults during the load ({run.fault_share:.0%} of writes): {rates}")
    lines += ["crashes:"] + [f"  {line}" for line in run.chaos]
    probe = _seconds(run.probe_seconds, absent="not within the probe's wait")
    if run.probe_seconds is None and watch is not None and watch.probe_found_at is not None:
        probe += " (it came later, under load)"
    note = f"; {run.probe_note}" if run.probe_note else ""
    lines.append(f"latency: first receipt in the ERP on a system at rest {probe} (target: 5 s){note}")
    lines.append(
        "         first receipt of the load in the ERP "
        + _seconds(run.first_receipt_seconds, absent="never seen")
        + " after the load's first payment"
    )
    rate = f"{run.postings_per_second:.1f}/s" if run.postings_per_second else "-"
    lines.append(f"throughput: {run.posted} documents posted to the ERP during the run; best 10 s: {rate}")
    if watch is not None:
        lines.append(
            f"peaks: {watch.peak_queued} tasks waiting in the broker, {watch.peak_processing_events} inbox "
            f"events processing, {watch.peak_in_progress_postings} postings in progress"
            + (f"; sampler misses: {dict(watch.errors)}" if watch.errors else "")
        )
    if run.quiescent_after is not None:
        lines.append(f"quiescence: {run.quiescent_after:.1f} s after the faults stopped (target: 60 s)")
        if run.last_waited:
            lines.append("  the last thing waited for: " + "; ".join(run.last_waited))
    elif run.outstanding:
        lines.append("quiescence: NOT REACHED within --max-seconds; left: " + "; ".join(run.outstanding))
        lines += [f"  {line}" for line in run.stuck]
    return lines


def _ledger_lines(ledger: Ledger) -> list[str]:
    lines = [
        "checks, from PayTrace's and the ERP's own tables:",
        f"  lost transactions (in PayTrace, not in ours): {len(ledger.lost)}",
    ]
    lines += [
        f"    {fact.transaction_id} {fact.kind} {fact.outcome} {fact.amount} {fact.customer}"
        for fact in ledger.lost[:SHOWN]
    ]
    lines.append(f"  duplicate ERP documents (our reference on more than one): {ledger.duplicate_documents}")
    lines += [
        f"    {DOCUMENT_LABELS[kind]} {reference} x{count}"
        for (kind, reference), count in list(ledger.duplicates.items())[:SHOWN]
    ]
    lines += ["", TABLE.format(*HEADINGS)]
    for row in ledger.rows:
        lines.append(
            TABLE.format(
                row.customer,
                _money(row.paytrace_net),
                _money(row.erp_net),
                _money(row.difference),
                row.dead_count,
                _money(row.dead_amount),
                row.held_count,
                _money(row.held_amount),
                _money(row.unexplained),
            )
        )
    lines.append("")
    by_what = defaultdict(list)
    for finding in ledger.findings:
        by_what[finding.what].append(finding)
    lines.append(f"  unexplained transactions: {len(ledger.findings)}")
    for what, findings in by_what.items():
        total = sum((finding.amount for finding in findings), Decimal("0"))
        lines.append(f"    {what}: {len(findings)} ({_money(total)})")
        lines += [
            f"      {finding.transaction_id} {finding.customer} {_money(finding.amount)}: {finding.detail}"
            for finding in findings[:SHOWN]
        ]
    for title, findings in (
        ("dependent documents in the ERP without their receipt", ledger.orphans),
        ("dependent dead letters whose receipt the ERP has", ledger.dead_needlessly),
    ):
        lines.append(f"  {title}: {len(findings)}")
        lines += [
            f"      {finding.transaction_id} {finding.customer}: {finding.detail[:160]}"
            for finding in findings[:SHOWN]
        ]
    reasons = Counter((posting.document_type, posting.reason[:140]) for posting in ledger.dead_letters)
    lines.append(f"  dead letters: {len(ledger.dead_letters)}")
    lines += [
        f"      x{count} {DOCUMENT_LABELS[kind]}: {reason}"
        for (kind, reason), count in reasons.most_common(SHOWN)
    ]
    lines.append(f"  held for review (flagged by risk): {len(ledger.held)}")
    behind = ledger.held_behind_dead
    lines.append(f"  held behind a dead letter (released when it is replayed): {len(behind)}")
    lines += [
        f"      {DOCUMENT_LABELS[p.document_type]} {p.reference} waits for dead receipt {p.waits_for}"
        for p in behind[:SHOWN]
    ]
    return lines


def _verdict(run) -> list[str]:
    reasons = list(run.failures)
    if run.quiescent_after is None:
        reasons.append("no quiescence")
    ledger = run.ledger
    if ledger is not None:
        counts = {
            "lost transactions": len(ledger.lost),
            "duplicate documents": ledger.duplicate_documents,
            "customers with an unexplained difference": len(ledger.unexplained_customers),
            "unexplained transactions": len(ledger.findings),
            "dependent documents without their receipt": len(ledger.orphans),
            "dependent dead letters whose receipt the ERP has": len(ledger.dead_needlessly),
        }
        reasons += [f"{count} {what}" for what, count in counts.items() if count]
    return reasons


def report_print(run) -> bool:
    """Print the run; True when it failed."""
    print(f"\n=== soak against {run.erp} ===")
    for line in _run_lines(run):
        print(line)
    if run.ledger is not None:
        print()
        for line in _ledger_lines(run.ledger):
            print(line)
    reasons = _verdict(run)
    print()
    if reasons:
        print("FAIL: " + "; ".join(reason.splitlines()[0] for reason in reasons))
        for reason in reasons:
            if "\n" in reason:
                print(reason)
    else:
        print(
            "PASS: nothing lost, no duplicate, every difference explained by a dead letter or a held posting"
        )
    return bool(reasons)
