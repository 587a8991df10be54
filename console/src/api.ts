// The public HTTP API, same origin: a bearer token and RFC 9457 problem+json errors.

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors: FieldError[],
  ) {
    super(`${code}: ${detail}`);
  }
}

export interface Config {
  api_url: string;
  ws_url: string;
}

const TOKEN_KEY = "redfire.token";

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export interface Claims {
  account_id: string;
  role: string;
  scopes: string[];
  exp: number;
  sub: string;
}

export function claims(): Claims | null {
  const value = token();
  if (!value) return null;
  try {
    const part = value.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part)) as Claims;
  } catch {
    return null;
  }
}

let config: Config = { api_url: "", ws_url: "" };

export async function loadConfig(): Promise<Config> {
  // config.json sits beside index.html: written by `redfire dev` or by the deploy.
  const response = await fetch(new URL("config.json", document.baseURI).toString(), {
    cache: "no-store",
  });
  if (response.ok) config = { ...config, ...((await response.json()) as Partial<Config>) };
  return config;
}

export function wsUrl(): string {
  return config.ws_url;
}

export async function call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const bearer = token();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(config.api_url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const problem = parsed ?? {};
    throw new ProblemError(
      response.status,
      problem.code ?? String(response.status),
      problem.detail ?? problem.message ?? response.statusText,
      Array.isArray(problem.errors) ? problem.errors : [],
    );
  }
  return parsed as T;
}

export const get = <T = any>(path: string) => call<T>("GET", path);
export const post = <T = any>(path: string, body?: unknown) => call<T>("POST", path, body ?? {});
export const put = <T = any>(path: string, body: unknown) => call<T>("PUT", path, body);
export const patch = <T = any>(path: string, body: unknown) => call<T>("PATCH", path, body);
export const del = <T = any>(path: string) => call<T>("DELETE", path);

export async function exchangeKey(keyId: string, secret: string): Promise<string> {
  const answer = await post<{ access_token: string }>("/v1/auth/token", {
    key_id: keyId,
    secret,
  });
  return answer.access_token;
}
