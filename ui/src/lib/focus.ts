// Where focus goes when what held it goes away (a dialog closes, a button disappears): back to the
// element the person was on if it is still there, else to the screen's heading — never to the top
// of the page, where a keyboard user would have to start over.

export function restoreFocus(previous: Element | null | undefined) {
  // After the closing render, so that a re-rendered list has its buttons back in place.
  queueMicrotask(() => {
    const el = previous as HTMLElement | null | undefined;
    if (el && el.isConnected && el !== document.body && !el.closest("[inert]") && isFocusable(el)) {
      el.focus();
      return;
    }
    focusScreenHeading();
  });
}

export function focusScreenHeading() {
  const h = document.querySelector<HTMLElement>("main h1");
  if (h) {
    if (!h.hasAttribute("tabindex")) h.setAttribute("tabindex", "-1");
    h.focus();
  }
}

function isFocusable(el: HTMLElement): boolean {
  if ((el as HTMLButtonElement).disabled) return false;
  return el.getClientRects().length > 0;
}

/** Focus `el` (or the first match of a selector) after the next render. */
export function focusSoon(target: string | (() => HTMLElement | null | undefined)) {
  setTimeout(() => {
    const el = typeof target === "string" ? document.querySelector<HTMLElement>(target) : target();
    el?.focus();
  }, 0);
}
