// The RedFire web console: a single page over the public HTTP API and the WebSocket.
import "./style.css";
import * as api from "./api";
import { Live, type StreamMessage } from "./live";
import { clearErrors, formValues, h, showProblem, table } from "./dom";
import { backtestChart, candles } from "./charts";

const app = document.getElementById("app")!;
const CHANNELS = ["orders", "positions", "account", "trades", "backtests"];
const OPEN_STATUSES = new Set(["submitted", "accepted", "partially_filled", "pending_cancel"]);
const orders = new Map<string, any>();
const positions = new Map<string, any>();
let live: Live | null = null;
let cleanup: (() => void)[] = [];

declare global {
  interface Window {
    redfire: {
      live: Live | null;
      orders: Map<string, any>;
      seen: Record<string, number>;
      events: Record<string, number>;
      received: Record<string, number>;
    };
  }
}
// When each order was first drawn on the orders page in each status, and when the event
// that moved it there occurred (epoch ms, "<id>:<status>"): the console benchmark reads them.
const seen: Record<string, number> = {};
const events: Record<string, number> = {};
const received: Record<string, number> = {};
window.redfire = { live: null, orders, seen, events, received };

const PAGES: Record<string, { title: string; render: (main: HTMLElement) => Promise<void> }> = {
  account: { title: "Account", render: accountPage },
  orders: { title: "Orders & positions", render: ordersPage },
  trades: { title: "Trades", render: tradesPage },
  risk: { title: "Risk", render: riskPage },
  market: { title: "Market data", render: marketPage },
  backtests: { title: "Backtests", render: backtestsPage },
  strategies: { title: "Strategies", render: strategiesPage },
  audit: { title: "Audit", render: auditPage },
};

// --- shell -------------------------------------------------------------------------

async function boot(): Promise<void> {
  await api.loadConfig();
  window.addEventListener("hashchange", route);
  route();
}

function startLive(): void {
  if (live) return;
  live = new Live(api.wsUrl(), api.token, CHANNELS);
  window.redfire.live = live;
  live.on(apply);
  live.on(renderStatus);
  live.onState(renderStatus);
  live.connect();
}

function apply(message: StreamMessage): void {
  if (message.channel === "orders") {
    orders.set(message.data.id, message.data);
    const key = `${message.data.id}:${message.data.status}`;
    events[key] ??= Date.parse(message.occurred_at);
    received[key] ??= Date.now();
  } else if (message.channel === "positions") positions.set(message.data.symbol, message.data);
  document.dispatchEvent(new CustomEvent("redfire:event", { detail: message }));
}

function renderStatus(): void {
  const status = document.getElementById("live-status");
  if (!status || !live) return;
  status.textContent = `stream ${live.state} · seq ${JSON.stringify(live.last)} · gaps ${live.gaps}`;
  status.dataset.state = live.state;
  const toggle = document.getElementById("live-toggle");
  if (toggle) toggle.textContent = live.state === "closed" ? "Reconnect" : "Disconnect";
}

function route(): void {
  for (const undo of cleanup) undo();
  cleanup = [];
  const claims = api.claims();
  if (!claims || claims.exp * 1000 < Date.now()) {
    api.setToken(null);
    signInPage();
    return;
  }
  startLive();
  const name = location.hash.replace(/^#\/?/, "") || "orders";
  const page = PAGES[name] ?? PAGES.orders;
  const main = h("main", { id: `page-${name}` }, h("h1", {}, page.title));
  const nav = h(
    "nav",
    {},
    h("strong", {}, "RedFire"),
    ...Object.entries(PAGES).map(([key, p]) =>
      h("a", { href: `#/${key}`, className: key === name ? "active" : "" }, p.title),
    ),
    h("span", { className: "who" }, `${claims.account_id} · ${claims.role}`),
    h("span", { id: "live-status" }),
    h("button", {
      id: "live-toggle",
      type: "button",
      onclick: () => (live!.state === "closed" ? live!.connect() : live!.disconnect()),
    }),
    h("button", { type: "button", onclick: signOut }, "Sign out"),
  );
  app.replaceChildren(nav, main);
  renderStatus();
  page.render(main).catch((error) => main.append(h("div", { className: "form-error" }, String(error))));
}

function signOut(): void {
  live?.disconnect();
  live = null;
  orders.clear();
  positions.clear();
  api.setToken(null);
  location.hash = "";
  route();
}

function signInPage(): void {
  const keyForm = h(
    "form",
    { id: "sign-in-key" },
    h("h2", {}, "API key"),
    h("label", {}, "Key id ", h("input", { name: "key_id", autocomplete: "username" })),
    h("label", {}, "Secret ", h("input", { name: "secret", type: "password", autocomplete: "current-password" })),
    h("button", { type: "submit" }, "Sign in"),
  );
  keyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(keyForm);
    try {
      api.setToken(await api.exchangeKey(values.key_id ?? "", values.secret ?? ""));
      route();
    } catch (error) {
      showProblem(keyForm, error);
    }
  });
  const tokenForm = h(
    "form",
    { id: "sign-in-token" },
    h("h2", {}, "Token"),
    h("label", {}, "Bearer token ", h("textarea", { name: "token", rows: 3 })),
    h("button", { type: "submit" }, "Use token"),
  );
  tokenForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    api.setToken(formValues(tokenForm).token ?? null);
    try {
      await api.get("/v1/account");
      route();
    } catch (error) {
      api.setToken(null);
      showProblem(tokenForm, error);
    }
  });
  app.replaceChildren(h("main", { id: "sign-in" }, h("h1", {}, "RedFire console"), keyForm, tokenForm));
}

function onEvent(listener: (message: StreamMessage) => void): void {
  const handler = (event: Event) => listener((event as CustomEvent<StreamMessage>).detail);
  document.addEventListener("redfire:event", handler);
  cleanup.push(() => document.removeEventListener("redfire:event", handler));
}

function section(title: string, ...children: (Node | string)[]): HTMLElement {
  return h("section", {}, h("h2", {}, title), ...children);
}

function submitter(form: HTMLFormElement, action: (values: Record<string, string>) => Promise<void>): void {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await action(formValues(form));
    } catch (error) {
      showProblem(form, error);
    }
  });
}

function select(name: string, options: string[], value?: string): HTMLSelectElement {
  return h("select", { name }, ...options.map((o) => h("option", { value: o, selected: o === value }, o)));
}

async function symbols(): Promise<string[]> {
  try {
    const answer = await api.get("/v1/instruments");
    return (answer.items ?? answer).map((i: any) => i.symbol);
  } catch {
    return ["GOOG", "AAPL", "MSFT", "BTC-USD"];
  }
}

// --- account -----------------------------------------------------------------------

async function accountPage(main: HTMLElement): Promise<void> {
  const summary = h("div", { id: "account-summary" });
  const load = async () => {
    const account = await api.get("/v1/account");
    const pnl = Number(account.realized_pnl) + Number(account.unrealized_pnl);
    summary.replaceChildren(
      h(
        "dl",
        { className: "figures" },
        ...[
          ["Cash", account.cash],
          ["Equity", account.equity],
          ["Buying power", account.buying_power],
          ["Reserved", account.reserved],
          ["Realized P&L", account.realized_pnl],
          ["Unrealized P&L", account.unrealized_pnl],
          ["P&L", pnl.toFixed(2)],
          ["Currency", account.currency],
        ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", { "data-field": k }, v)]),
      ),
    );
  };
  await load();
  onEvent((m) => m.channel === "account" && load());
  const activities = await api.get("/v1/account/activities");
  main.append(
    summary,
    section("Activities", table(activities.items, ["at", "type", "amount", "symbol", "order_id", "description"])),
  );
}

// --- orders and positions ------------------------------------------------------------

async function ordersPage(main: HTMLElement): Promise<void> {
  const [orderList, positionList, names] = await Promise.all([
    api.get("/v1/orders?limit=100"),
    api.get("/v1/positions"),
    symbols(),
  ]);
  for (const order of orderList.items) if (!orders.has(order.id)) orders.set(order.id, order);
  for (const position of positionList.items) positions.set(position.symbol, position);

  const place = h(
    "form",
    { id: "place-order", className: "inline" },
    select("symbol", names),
    select("side", ["buy", "sell"]),
    select("type", ["market", "limit", "stop", "stop_limit"]),
    h("input", { name: "quantity", placeholder: "quantity", size: 8 }),
    h("input", { name: "limit_price", placeholder: "limit price", size: 8 }),
    h("input", { name: "stop_price", placeholder: "stop price", size: 8 }),
    select("time_in_force", ["day", "gtc", "ioc", "fok"]),
    h("button", { type: "submit" }, "Place"),
  );
  submitter(place, async (values) => {
    const order = await api.post("/v1/orders", values);
    orders.set(order.id, { ...order, ...(orders.get(order.id) ?? {}) });
    drawOrders();
  });
  const positionBox = h("div", { id: "positions" });
  const orderBox = h("div", { id: "orders" });
  const drawPositions = () =>
    positionBox.replaceChildren(
      table([...positions.values()], ["symbol", "quantity", "average_cost", "realized_pnl", "market_price", "unrealized_pnl"], undefined, (p) => p.symbol),
    );
  const drawOrders = () => {
    const rows = [...orders.values()]
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1))
      .map((order) => ({ ...order, reason: order.reject_reason?.code ?? "" }));
    orderBox.replaceChildren(
      table(
        rows,
        ["created_at", "id", "symbol", "side", "type", "quantity", "limit_price", "status", "reason", "filled_quantity", "average_fill_price"],
        (order) => (OPEN_STATUSES.has(order.status) ? orderActions(order) : ""),
        (order) => order.id,
      ),
    );
    const now = Date.now();
    for (const order of rows) seen[`${order.id}:${order.status}`] ??= now;
  };
  drawPositions();
  drawOrders();
  onEvent((m) => {
    if (m.channel === "orders") drawOrders();
    if (m.channel === "positions") drawPositions();
  });
  main.append(section("Place an order", place), section("Positions", positionBox), section("Orders", orderBox));
}

function orderActions(order: any): HTMLElement {
  const replace = h(
    "form",
    { className: "inline replace", hidden: true },
    h("input", { name: "quantity", placeholder: "quantity", size: 6, value: order.quantity }),
    h("input", { name: "limit_price", placeholder: "limit", size: 6, value: order.limit_price ?? "" }),
    h("button", { type: "submit" }, "Send"),
  );
  submitter(replace, async (values) => {
    const body: Record<string, string> = {};
    if (values.quantity && values.quantity !== order.quantity) body.quantity = values.quantity;
    if (values.limit_price && values.limit_price !== order.limit_price) body.limit_price = values.limit_price;
    await api.patch(`/v1/orders/${order.id}`, body);
  });
  const box = h("span", {});
  const cancel = h("button", {
    type: "button",
    className: "cancel",
    onclick: async () => {
      try {
        await api.del(`/v1/orders/${order.id}`);
      } catch (error) {
        showProblem(box, error);
      }
    },
  }, "Cancel");
  const toggle = h("button", { type: "button", onclick: () => (replace.hidden = !replace.hidden) }, "Replace");
  box.append(cancel, toggle, replace);
  return box;
}

// --- trades ------------------------------------------------------------------------

async function tradesPage(main: HTMLElement): Promise<void> {
  const box = h("div", { id: "trades" });
  const load = async () => {
    const trades = await api.get("/v1/trades?limit=200");
    box.replaceChildren(table(trades.items, ["executed_at", "trade_id", "order_id", "symbol", "side", "quantity", "price", "commission"]));
  };
  await load();
  onEvent((m) => m.channel === "trades" && load());
  main.append(box);
}

// --- risk --------------------------------------------------------------------------

async function riskPage(main: HTMLElement): Promise<void> {
  const role = api.claims()?.role;
  const limits = await api.get("/v1/risk/limits");
  const limitsForm = h("form", { id: "limits" });
  const rows = Object.keys(limits.defaults).map((name) =>
    h(
      "tr",
      { "data-key": name },
      h("th", {}, name),
      h("td", {}, limits.defaults[name]),
      h("td", {}, h("input", { name, value: limits.account[name] ?? "", placeholder: "default", size: 12 })),
      h("td", { "data-col": "effective" }, limits.effective[name]),
      h("td", {}, limits.caps[name] ?? ""),
    ),
  );
  limitsForm.append(
    h("table", {}, h("thead", {}, h("tr", {}, ...["limit", "default", "account override", "effective", "cap"].map((t) => h("th", {}, t)))), h("tbody", {}, ...rows)),
    h("button", { type: "submit", disabled: role !== "admin" }, "Save limits"),
    role === "admin" ? "" : h("span", { className: "note" }, " (admin only)"),
  );
  submitter(limitsForm, async (values) => {
    const changes: Record<string, string | null> = {};
    for (const name of Object.keys(limits.defaults)) {
      const before = limits.account[name] ?? undefined;
      if (values[name] !== before) changes[name] = values[name] ?? null;
    }
    const answer = await api.put("/v1/risk/limits", { account: changes });
    Object.assign(limits, answer);
    for (const name of Object.keys(limits.effective)) {
      const cell = limitsForm.querySelector(`tr[data-key="${name}"] td[data-col="effective"]`);
      if (cell) cell.textContent = limits.effective[name];
    }
    limitsForm.prepend(h("div", { className: "form-ok" }, "limits saved"));
  });

  const stateBox = h("div", { id: "trading-state" });
  const drawState = async () => {
    const state = await api.get("/v1/risk/state");
    stateBox.replaceChildren(
      h("p", {}, "Account: ", h("strong", { "data-field": "state" }, state.state), state.reason ? ` (${state.reason})` : ""),
      h("p", {}, "Global: ", h("strong", {}, state.global.state), state.global.reason ? ` (${state.global.reason})` : ""),
    );
  };
  await drawState();
  const stateForm = h(
    "form",
    { id: "state-form", className: "inline" },
    select("state", ["active", "reducing", "halted"]),
    h("input", { name: "reason", placeholder: "reason", size: 30 }),
    h("button", { type: "submit" }, "Set account state"),
    h("button", { type: "button", className: "danger", onclick: () => setState("halted", "kill switch") }, "Kill switch"),
  );
  const setState = async (state: string, reason: string) => {
    try {
      const path = role === "operator" ? "/v1/risk/global-state" : "/v1/risk/state";
      await api.put(path, { state, reason });
      await drawState();
    } catch (error) {
      showProblem(stateForm, error);
    }
  };
  submitter(stateForm, async (values) => setState(values.state, values.reason ?? ""));

  const dryRun = h(
    "form",
    { id: "dry-run", className: "inline" },
    select("symbol", await symbols()),
    select("side", ["buy", "sell"]),
    select("type", ["market", "limit"]),
    h("input", { name: "quantity", placeholder: "quantity", size: 8 }),
    h("input", { name: "limit_price", placeholder: "limit price", size: 8 }),
    h("input", { type: "hidden", name: "time_in_force", value: "day" }),
    h("button", { type: "submit" }, "Check"),
  );
  const verdict = h("pre", { id: "dry-run-result" });
  submitter(dryRun, async (values) => {
    verdict.textContent = JSON.stringify(await api.post("/v1/risk/check", values), null, 2);
  });
  main.append(
    section("Trading state and kill switch", stateBox, stateForm),
    section("Limits", limitsForm),
    section("Dry run", dryRun, verdict),
  );
}

// --- market data -------------------------------------------------------------------

async function marketPage(main: HTMLElement): Promise<void> {
  const names = await symbols();
  const quotes = h("div", { id: "quotes" });
  const drawQuotes = async () => {
    const latest = await api.get(`/v1/quotes/latest?symbols=${names.join(",")}`);
    quotes.replaceChildren(table(latest.items, ["symbol", "price", "timestamp"]));
  };
  await drawQuotes();
  const timer = window.setInterval(drawQuotes, 5000);
  cleanup.push(() => window.clearInterval(timer));
  const form = h(
    "form",
    { id: "bars-form", className: "inline" },
    select("symbol", names),
    select("interval", ["1m", "5m", "15m", "1h", "1d", "1w"]),
    h("label", {}, "from ", h("input", { name: "start", type: "datetime-local" })),
    h("label", {}, "to ", h("input", { name: "end", type: "datetime-local" })),
    h("button", { type: "submit" }, "Show"),
  );
  const chartBox = h("div", { id: "candles", className: "chart" });
  const gaps = h("div", { id: "gaps" });
  submitter(form, async (values) => {
    const end = values.end ? new Date(values.end) : new Date();
    const start = values.start ? new Date(values.start) : new Date(end.getTime() - 6 * 3600_000);
    const range = `symbol=${encodeURIComponent(values.symbol)}&interval=${values.interval}&start=${start.toISOString()}&end=${end.toISOString()}`;
    const bars: any[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.get(`/v1/bars?${range}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      bars.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && bars.length < 20000);
    candles(chartBox, bars);
    const found = await api.get(`/v1/marketdata/gaps?${range}`);
    gaps.replaceChildren(found.items.length ? table(found.items) : h("p", {}, `no gaps in ${bars.length} bars`));
  });
  main.append(section("Latest quotes", quotes), section("Bars", form, chartBox, gaps));
  form.requestSubmit();
}

// --- backtests and sweeps ------------------------------------------------------------

function dataFields(): HTMLElement[] {
  const day = (offset: number) => new Date(Date.now() + offset * 86400_000).toISOString().slice(0, 10);
  return [
    h("label", {}, "strategy ", h("input", { name: "strategy", value: "sma_cross", size: 12 })),
    h("label", {}, "symbol ", h("input", { name: "symbol", value: "GOOG", size: 8 })),
    h("label", {}, "interval ", select("interval", ["1m", "5m", "15m", "1h", "1d", "1w"], "1m")),
    h("label", {}, "start ", h("input", { name: "start", value: `${day(-1)}T00:00:00Z`, size: 20 })),
    h("label", {}, "end ", h("input", { name: "end", value: `${day(1)}T00:00:00Z`, size: 20 })),
    h("label", {}, "cash ", h("input", { name: "cash", value: "10000", size: 8 })),
    h("label", {}, "commission ", h("input", { name: "commission", value: "0", size: 6 })),
  ];
}

function parseJson(form: HTMLFormElement, name: string, text: string | undefined): any {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new api.ProblemError(422, "REQUEST_INVALID", "not JSON", [{ field: name, code: "REQUEST_INVALID", message: "not valid JSON" }]);
  }
}

async function backtestsPage(main: HTMLElement): Promise<void> {
  const run = h(
    "form",
    { id: "run-backtest" },
    ...dataFields(),
    h("label", {}, "params ", h("input", { name: "params", value: '{"fast": 5, "slow": 20}', size: 24 })),
    h("button", { type: "submit" }, "Run backtest"),
  );
  const detail = h("div", { id: "backtest-detail" });
  const list = h("div", { id: "backtest-list" });
  const drawList = async () => {
    const page = await api.get("/v1/backtests?limit=50");
    list.replaceChildren(
      table(page.items, ["created_at", "id", "strategy", "symbol", "interval", "status"], (b) =>
        h("button", { type: "button", onclick: () => follow(b.id) }, "Show"),
      ),
    );
  };
  let following = 0;
  const follow = async (id: string) => {
    const ticket = ++following;
    for (;;) {
      const backtest = await api.get(`/v1/backtests/${id}`);
      detail.replaceChildren(h("p", {}, `Backtest ${id}: `, h("strong", { "data-field": "status" }, backtest.status)));
      if (backtest.status === "queued" || backtest.status === "running") {
        await new Promise((resolve) => setTimeout(resolve, 700));
        if (ticket !== following) return;
        continue;
      }
      if (backtest.error) detail.append(h("p", { className: "form-error" }, `${backtest.error.code}: ${backtest.error.message}`));
      if (backtest.statistics) {
        const stats = Object.entries(backtest.statistics).map(([k, v]) => ({ statistic: k, value: v }));
        const chartBox = h("div", { id: "backtest-chart", className: "chart" });
        detail.append(chartBox, table(stats));
        if (backtest.results) {
          const [equity, trades] = await Promise.all([
            fetch(backtest.results.equity_url).then((r) => r.json()),
            fetch(backtest.results.trades_url).then((r) => r.json()),
          ]);
          backtestChart(chartBox, equity, trades);
        }
      }
      await drawList();
      return;
    }
  };
  submitter(run, async (values) => {
    const body = { ...values, params: parseJson(run, "params", values.params) };
    const queued = await api.post("/v1/backtests", body);
    await drawList();
    await follow(queued.id);
  });

  const sweep = h(
    "form",
    { id: "run-sweep" },
    ...dataFields(),
    h("label", {}, "grid ", h("input", { name: "grid", value: '{"fast": [5, 10, 15], "slow": [20, 30, 40]}', size: 36 })),
    h("label", {}, "constraint ", h("input", { name: "constraint", value: "fast < slow", size: 14 })),
    h("label", {}, "maximize ", h("input", { name: "maximize", value: "return_pct", size: 10 })),
    h("button", { type: "submit" }, "Run sweep"),
  );
  const sweepBox = h("div", { id: "sweep" });
  submitter(sweep, async (values) => {
    const body = { ...values, grid: parseJson(sweep, "grid", values.grid) };
    const started = await api.post("/v1/backtests/sweeps", body);
    for (;;) {
      const state = await api.get(`/v1/backtests/sweeps/${started.id}`);
      drawSweep(sweepBox, state);
      if (state.status !== "running") return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  });
  await drawList();
  main.append(section("Run a backtest", run, detail), section("Backtests", list), section("Parameter sweep", sweep, sweepBox));
}

function drawSweep(box: HTMLElement, sweep: any): void {
  const names = sweep.results.length ? Object.keys(sweep.results[0].params) : [];
  const round = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? +v.toFixed(4) : v);
  const ranking = sweep.results.map((r: any, i: number) => ({
    rank: i + 1,
    ...r.params,
    [sweep.maximize]: round(r.statistics[sweep.maximize]),
    return_pct: round(r.statistics.return_pct),
    trades: r.statistics.trades,
  }));
  box.replaceChildren(
    h("p", {}, `${sweep.status}: ${sweep.completed_combinations}/${sweep.combinations} combinations, ${sweep.failed_combinations} failed`),
    h("progress", { max: 100, value: sweep.progress_pct }),
    names.length >= 2 ? heatmap(sweep, names[0], names[1]) : "",
    ranking.length ? table(ranking) : "",
  );
}

/** The ranked value over the first two parameters, colored from worst to best. */
function heatmap(sweep: any, x: string, y: string): HTMLElement {
  const xs = [...new Set(sweep.results.map((r: any) => r.params[x]))].sort((a: any, b: any) => a - b);
  const ys = [...new Set(sweep.results.map((r: any) => r.params[y]))].sort((a: any, b: any) => a - b);
  const value = new Map<string, number>();
  for (const r of sweep.results) {
    const v = Number(r.statistics[sweep.maximize]);
    if (Number.isFinite(v)) value.set(`${r.params[x]}|${r.params[y]}`, v);
  }
  const values = [...value.values()];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const head = h("tr", {}, h("th", {}, `${y} \\ ${x}`), ...xs.map((v) => h("th", {}, String(v))));
  const rows = ys.map((yv) =>
    h(
      "tr",
      {},
      h("th", {}, String(yv)),
      ...xs.map((xv) => {
        const v = value.get(`${xv}|${yv}`);
        const t = v === undefined || hi === lo ? 0.5 : (v - lo) / (hi - lo);
        const style = v === undefined ? "" : `background: hsl(${Math.round(t * 120)}, 70%, 75%)`;
        return h("td", { style }, v === undefined ? "" : v.toFixed(2));
      }),
    ),
  );
  return h("table", { className: "heatmap" }, h("thead", {}, head), h("tbody", {}, ...rows));
}

// --- strategies ----------------------------------------------------------------------

async function strategiesPage(main: HTMLElement): Promise<void> {
  const list = h("div", { id: "instances" });
  const draw = async () => {
    const page = await api.get("/v1/strategies/instances");
    list.replaceChildren(
      table(page.items, ["id", "strategy", "symbol", "interval", "status", "params"], (i) =>
        i.status === "running"
          ? h("button", { type: "button", onclick: async () => (await api.post(`/v1/strategies/instances/${i.id}/stop`), draw()) }, "Stop")
          : "",
      ),
    );
  };
  const start = h(
    "form",
    { id: "start-instance", className: "inline" },
    h("input", { name: "strategy", value: "sma_cross", size: 12 }),
    h("input", { name: "symbol", value: "GOOG", size: 8 }),
    select("interval", ["1m", "5m", "15m", "1h", "1d"]),
    h("input", { name: "params", value: '{"fast": 5, "slow": 20}', size: 24 }),
    h("button", { type: "submit" }, "Start"),
  );
  submitter(start, async (values) => {
    await api.post("/v1/strategies/instances", { ...values, params: parseJson(start, "params", values.params) });
    await draw();
  });
  await draw();
  main.append(section("Start an instance", start), section("Instances", list));
}

// --- audit -------------------------------------------------------------------------

async function auditPage(main: HTMLElement): Promise<void> {
  const page = await api.get("/v1/audit?limit=200");
  main.append(h("div", { id: "audit" }, table(page.items)));
}

boot();
