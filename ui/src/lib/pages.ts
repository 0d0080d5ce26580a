// Paging of the member list: which page buttons to show around the current one.

export const PER_PAGE_CHOICES = [10, 25, 50, 100] as const;

export function pageCount(total: number, perPage: number): number {
  return Math.max(1, Math.ceil(total / Math.max(1, perPage)));
}

/**
 * Page numbers to show, with null for a gap: [1, null, 4, 5, 6, null, 20]. `open`: the count is a
 * lower bound (an estimated total, and this page is full), so no page is shown as the last: the
 * window ends with a gap after the pages around the current one ([1, null, 4, 5, 6, null]).
 */
export function pageWindow(current: number, count: number, around = 1, open = false): (number | null)[] {
  const pages = new Set<number>(open ? [1] : [1, count]);
  for (let p = current - around; p <= current + around; p++) if (p >= 1 && p <= count) pages.add(p);
  const sorted = [...pages].sort((a, b) => a - b);
  const out: (number | null)[] = [];
  sorted.forEach((p, i) => {
    if (i > 0 && p - sorted[i - 1] > 1) out.push(null);
    out.push(p);
  });
  if (open) out.push(null);
  return out;
}

/**
 * "51–100 of 1,000,000"; with an estimated total (a lower bound), "51–100 of 1,000+", and
 * `shown` (the rows this page holds) says where the page ends, as the total cannot.
 */
export function rangeLabel(page: number, perPage: number, total: number, estimate = false, shown?: number): string {
  if (total === 0 && !shown) return "0 of 0";
  const from = (page - 1) * perPage + 1;
  if (estimate) {
    if (!shown) return `0 of ${total.toLocaleString("en")}+`;
    const to = from + shown - 1;
    const of = Math.max(total, to);
    return `${from.toLocaleString("en")}–${to.toLocaleString("en")} of ${of.toLocaleString("en")}${to >= of && shown < perPage ? "" : "+"}`;
  }
  const to = Math.min(total, page * perPage);
  return `${from.toLocaleString("en")}–${to.toLocaleString("en")} of ${total.toLocaleString("en")}`;
}

/**
 * How many pages to offer. With an exact total, all of them. With a lower bound, those it covers,
 * and one more past the current page while that page is full: the pages are walked forwards.
 */
export function pagesKnown(page: number, perPage: number, total: number, estimate: boolean, shown: number): number {
  const counted = pageCount(total, perPage);
  if (!estimate) return counted;
  return Math.max(counted, shown >= perPage ? page + 1 : page);
}

/**
 * Where each page of one query starts by a seek: page n + 1 starts after the `next` of page n
 * (`MemberQuery::after`), so Next, Previous and any page already walked cost what page 1 costs.
 * A page with no known start (a jump past the pages walked) is asked by its number (OFFSET).
 * A new query (filter, sort, direction, page size) forgets every start.
 */
export class PageStarts {
  private query = "";
  private starts = new Map<number, string>();

  /** The `after` to ask `page` of `query` with: null for page 1 and for a page not reached yet. */
  after(query: string, page: number): string | null {
    if (query !== this.query) {
      this.query = query;
      this.starts.clear();
    }
    return page > 1 ? (this.starts.get(page) ?? null) : null;
  }

  /** Page `page` of `query` came back with `next`: where the page after it starts, if known. */
  loaded(query: string, page: number, next: string | null | undefined) {
    if (query !== this.query) return;
    if (next) this.starts.set(page + 1, next);
    else this.starts.delete(page + 1);
  }
}
