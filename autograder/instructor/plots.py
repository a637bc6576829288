"""Matplotlib figures for the instructor: loss curves, grade histogram, failure rates."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: grading runs headless
import matplotlib.pyplot as plt  # noqa: E402


def loss_curve(path: Path, curves: dict[str, tuple[list[int], list[float]]]) -> Path:
    """Held-out loss per character of each training run, measured every few steps, on one figure."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for label, (steps, losses) in curves.items():
        ax.plot(steps, losses, label=label)
    ax.set(
        xlabel="training step (names)",
        ylabel="held-out cross-entropy (nats per character)",
        title="Character-level RNN language model (reference solution)",
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def grade_histogram(path: Path, totals: list[float], max_total: float) -> Path:
    """How the class's total scores are spread."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(
        totals,
        bins=min(20, max(5, len(totals) // 2)),
        range=(0, max_total),
        color="#4c72b0",
        edgecolor="white",
    )
    ax.set(
        xlabel=f"total score (out of {max_total:g})",
        ylabel="students",
        title=f"Grades of {len(totals)} submissions",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def failure_rates(path: Path, rates: dict[str, float]) -> Path:
    """Share of submissions short of full marks on each check: where the class needs help."""
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(rates) + 1.2))
    names = list(rates)
    ax.barh(names, [100 * rates[n] for n in names], color="#c44e52")
    ax.invert_yaxis()
    ax.set(xlabel="% of submissions short of full marks", xlim=(0, 100), title="Failure rate per check")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
