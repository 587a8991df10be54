// The WebSocket stream: subscribe with the last seq seen per channel, so a reconnect
// replays what was missed; a seq already seen is dropped, a jump is counted as a gap.

export interface StreamMessage {
  channel: string;
  seq: number;
  type: string;
  occurred_at: string;
  event_id: string;
  data: any;
}

type Listener = (message: StreamMessage) => void;

export class Live {
  readonly last: Record<string, number> = {};
  gaps = 0;
  duplicates = 0;
  received = 0;
  expired = 0;
  connects = 0;
  // "open" once every channel answered `subscribed`: from then on no event is missed.
  state: "connecting" | "open" | "closed" = "closed";
  private pending = new Set<string>();
  private socket: WebSocket | null = null;
  private listeners = new Set<Listener>();
  private stateListeners = new Set<() => void>();
  private paused = false;
  private pinger: number | undefined;

  constructor(
    private readonly url: string,
    private readonly token: () => string | null,
    private readonly channels: string[],
  ) {}

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener: () => void): void {
    this.stateListeners.add(listener);
  }

  connect(): void {
    const bearer = this.token();
    if (!bearer || !this.url || this.socket) return;
    this.paused = false;
    this.setState("connecting");
    // Browsers cannot set headers: the token travels as the second subprotocol.
    const socket = new WebSocket(this.url, ["redfire", bearer]);
    this.socket = socket;
    socket.onopen = () => {
      this.connects += 1;
      const resume: Record<string, number> = {};
      for (const channel of this.channels) {
        if (this.last[channel] !== undefined) resume[channel] = this.last[channel];
      }
      socket.send(JSON.stringify({ action: "subscribe", channels: this.channels, resume }));
      this.pending = new Set(this.channels);
      this.pinger = window.setInterval(() => socket.send('{"action":"ping"}'), 240_000);
    };
    socket.onmessage = (event) => this.receive(JSON.parse(String(event.data)));
    socket.onclose = () => {
      window.clearInterval(this.pinger);
      this.socket = null;
      this.setState("closed");
      if (!this.paused) window.setTimeout(() => this.connect(), 1000);
    };
  }

  /** Close the socket and stay away until connect() (the console's Disconnect button). */
  disconnect(): void {
    this.paused = true;
    this.socket?.close();
  }

  private receive(message: any): void {
    if (message.type === "subscribed") {
      // First subscription: start from the channel's current seq; a resume keeps ours.
      if (this.last[message.channel] === undefined) this.last[message.channel] = message.seq;
      this.pending.delete(message.channel);
      if (this.pending.size === 0 && this.state !== "open") this.setState("open");
      return;
    }
    if (message.type === "error" && message.code === "RESUME_POINT_EXPIRED") {
      // Away longer than the retention window: continue from what is still kept (the
      // pages reload their state over REST on the next event).
      this.expired += 1;
      this.last[message.channel] = message.oldest_seq - 1;
      return;
    }
    if (typeof message.seq !== "number" || !message.channel) return;
    const last = this.last[message.channel] ?? message.seq - 1;
    if (message.seq <= last) {
      this.duplicates += 1;
      return;
    }
    if (message.seq > last + 1) this.gaps += message.seq - last - 1;
    this.last[message.channel] = message.seq;
    this.received += 1;
    for (const listener of this.listeners) listener(message as StreamMessage);
  }

  private setState(state: Live["state"]): void {
    this.state = state;
    for (const listener of this.stateListeners) listener();
  }
}
