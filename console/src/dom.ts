// A few DOM helpers instead of a framework: the console is small and must stay light.
import { ProblemError } from "./api";

type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, any> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "className") element.className = value;
    else if (name === "value") (element as any).value = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A table of objects: the given columns, or every key of the first row. */
export function table(
  rows: any[],
  columns?: string[],
  extra?: (row: any) => Child,
  key?: (row: any) => string,
): HTMLTableElement {
  const names = columns ?? Object.keys(rows[0] ?? {});
  const body = h("tbody");
  for (const row of rows) {
    const tr = h("tr", key ? { "data-key": key(row) } : {});
    for (const name of names) tr.append(h("td", { "data-col": name }, cell(row[name])));
    if (extra) tr.append(h("td", {}, extra(row)));
    body.append(tr);
  }
  const head = h("tr", {}, ...names.map((name) => h("th", {}, name)));
  if (extra) head.append(h("th", {}, ""));
  return h("table", {}, h("thead", {}, head), body);
}

export function formValues(form: HTMLFormElement): Record<string, string> {
  const values: Record<string, string> = {};
  new FormData(form).forEach((value, name) => {
    if (String(value).trim() !== "") values[name] = String(value).trim();
  });
  return values;
}

export function clearErrors(form: HTMLElement): void {
  form.querySelectorAll(".field-error, .form-error").forEach((node) => node.remove());
  form.querySelectorAll(".invalid").forEach((node) => node.classList.remove("invalid"));
}

/** A problem+json error shown at the fields it names ("body.quantity" -> quantity), the
 * rest (and the title) at the top of the form. */
export function showProblem(form: HTMLElement, error: unknown): void {
  clearErrors(form);
  if (!(error instanceof ProblemError)) {
    form.prepend(h("div", { className: "form-error", role: "alert" }, String(error)));
    return;
  }
  const general: string[] = [];
  for (const item of error.errors) {
    const name = item.field.split(".").pop() ?? item.field;
    const input = form.querySelector<HTMLElement>(`[name="${CSS.escape(name)}"]`);
    if (input) {
      input.classList.add("invalid");
      input.after(
        h("span", { className: "field-error", "data-field": name, role: "alert" }, item.message),
      );
    } else general.push(`${item.field}: ${item.message}`);
  }
  const summary = `${error.status} ${error.code}: ${error.detail}`;
  form.prepend(
    h("div", { className: "form-error", role: "alert" }, [summary, ...general].join(" · ")),
  );
}
