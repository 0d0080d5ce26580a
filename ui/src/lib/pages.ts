// Paging of the member list: which page buttons to show around the current one.

export const PER_PAGE_CHOICES = [10, 25, 50, 100] as const;

export function pageCount(total: number, perPage: number): number {
  return Math.max(1, Math.ceil(total / Math.max(1, perPage)));
}

/** Page numbers to show, with null for a gap: [1, null, 4, 5, 6, null, 20]. */
export function pageWindow(current: number, count: number, around = 1): (number | null)[] {
  const pages = new Set<number>([1, count]);
  for (let p = current - around; p <= current + around; p++) if (p >= 1 && p <= count) pages.add(p);
  const sorted = [...pages].sort((a, b) => a - b);
  const out: (number | null)[] = [];
  sorted.forEach((p, i) => {
    if (i > 0 && p - sorted[i - 1] > 1) out.push(null);
    out.push(p);
  });
  return out;
}

/** "51–100 of 1,000,000". */
export function rangeLabel(page: number, perPage: number, total: number): string {
  if (total === 0) return "0 of 0";
  const from = (page - 1) * perPage + 1;
  const to = Math.min(total, page * perPage);
  return `${from.toLocaleString("en")}–${to.toLocaleString("en")} of ${total.toLocaleString("en")}`;
}
