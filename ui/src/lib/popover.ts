// Menus and popovers drawn above everything (not inside the table that holds their button, which
// would clip them), placed beside their button so that they stay whole on screen.

export interface Box {
  top: number;
  left: number;
  width: number;
  height: number;
}

/**
 * Where a popup of `size` goes for a button at `anchor` in a `viewport`: below the button, right
 * edges aligned; above it when there is more room there; always pulled inside the viewport.
 */
export function placePopup(
  anchor: Box,
  size: { width: number; height: number },
  viewport: { width: number; height: number },
  gap = 4,
  margin = 8,
): { top: number; left: number; above: boolean; maxHeight: number } {
  const below = viewport.height - (anchor.top + anchor.height) - gap - margin;
  const aboveRoom = anchor.top - gap - margin;
  const above = size.height > below && aboveRoom > below;
  const room = Math.max(80, above ? aboveRoom : below);
  const height = Math.min(size.height, room);
  let top = above ? anchor.top - gap - height : anchor.top + anchor.height + gap;
  top = Math.max(margin, Math.min(top, viewport.height - margin - height));
  let left = anchor.left + anchor.width - size.width;
  left = Math.max(margin, Math.min(left, viewport.width - margin - size.width));
  return { top, left, above, maxHeight: room };
}

/** Svelte action: move the node to the end of <body>, out of every clipping container. */
export function portal(node: HTMLElement) {
  document.body.appendChild(node);
  return {
    destroy() {
      node.remove();
    },
  };
}
