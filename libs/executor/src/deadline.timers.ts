/** A deadline started with `DeadlineTimers.start`; `cancel` is idempotent. */
export interface Deadline {
  cancel(): void;
}

/** One started deadline: a node of its lane's list (a class, so starting one makes no closure). */
class Entry implements Deadline {
  prev: Entry | undefined;
  next: Entry | undefined;

  constructor(
    private readonly timers: DeadlineTimers,
    readonly due: number,
    readonly fire: () => void,
    public lane: Lane | undefined,
  ) {
    this.prev = lane?.tail;
    this.next = undefined;
  }

  cancel(): void {
    this.timers.remove(this);
  }
}

/** The deadlines of one duration, in the order they fall due, under one Node timer. */
interface Lane {
  readonly duration: number;
  head: Entry | undefined;
  tail: Entry | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Deadlines for many short-lived calls that almost never fire. Calls of one duration fall due in the
 * order they start, so each duration keeps a linked list and one Node timer for its head: starting and
 * cancelling a deadline is an append and an unlink, with no Node timer made or cleared per call (a
 * `setTimeout`/`clearTimeout` pair per request cost about 3 µs on the request path). A deadline fires no
 * earlier than `ms` after it started.
 */
export class DeadlineTimers {
  private readonly lanes = new Map<number, Lane>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Calls `fire` once, `ms` milliseconds from now (rounded up to a whole ms), unless cancelled first. */
  start(ms: number, fire: () => void): Deadline {
    const duration = ms > 0 ? Math.ceil(ms) : 0;
    let lane = this.lanes.get(duration);
    if (lane === undefined) this.lanes.set(duration, (lane = { duration, head: undefined, tail: undefined, timer: undefined }));
    const entry = new Entry(this, this.now() + duration, fire, lane);
    if (lane.tail === undefined) lane.head = entry;
    else lane.tail.next = entry;
    lane.tail = entry;
    if (lane.timer === undefined) this.arm(lane, duration);
    return entry;
  }

  /** Deadlines started and not yet fired or cancelled (for tests and diagnostics). */
  get pending(): number {
    let n = 0;
    for (const lane of this.lanes.values()) for (let e = lane.head; e !== undefined; e = e.next) n++;
    return n;
  }

  /** Unlinks a deadline (Entry.cancel); nothing when it has fired or was cancelled. */
  remove(entry: Entry): void {
    const lane = entry.lane;
    if (lane === undefined) return;
    entry.lane = undefined;
    if (entry.prev === undefined) lane.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) lane.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = undefined;
    // An empty lane holds no timer, so an idle process can exit (and is dropped: remaining times of remote
    // deadlines vary); a removed head only makes the timer fire early and re-arm.
    if (lane.head === undefined) {
      if (lane.timer !== undefined) clearTimeout(lane.timer);
      lane.timer = undefined;
      this.lanes.delete(lane.duration);
    }
  }

  private arm(lane: Lane, ms: number): void {
    lane.timer = setTimeout(() => this.expire(lane), ms);
  }

  private expire(lane: Lane): void {
    lane.timer = undefined;
    const now = this.now();
    let head = lane.head;
    while (head !== undefined && head.due <= now) {
      this.remove(head);
      head.fire();
      head = lane.head;
    }
    if (head !== undefined && lane.timer === undefined) this.arm(lane, Math.max(1, Math.ceil(head.due - now)));
  }
}
