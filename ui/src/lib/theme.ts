// Light and dark follow the system; a person may pin one (kept in localStorage, not a secret).
export type ThemeChoice = "system" | "light" | "dark";

export function applyTheme(choice: ThemeChoice, root: HTMLElement = document.documentElement) {
  if (choice === "system") delete root.dataset.theme;
  else root.dataset.theme = choice;
}

export function loadTheme(): ThemeChoice {
  try {
    const v = localStorage.getItem("gatehouse.theme");
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

export function saveTheme(choice: ThemeChoice) {
  try {
    if (choice === "system") localStorage.removeItem("gatehouse.theme");
    else localStorage.setItem("gatehouse.theme", choice);
  } catch {
    /* storage unavailable: the choice lasts this session */
  }
  applyTheme(choice);
}
