"""A Streamlit session without a browser: what the frontend sends, over the same websocket.

In a class every student's browser runs on the student's laptop; on one 2-core machine 30
Chromium renderers cost more than the server they load (each live chart tick redraws a
Plotly chart: ~0.1 core per open Denoiser page, measured). A ProtocolSession loads the server
exactly as a browser does, at almost no cost of its own: it asks for a page's script run (a
page switch), sends a widget's new value (a slider nudged), reruns each fragment on the timer
the server asks for (`st.fragment(run_every=...)`: the live charts), and reads what comes
back: when the run finished, tracebacks, and the newest x of a chart by its title.
"""
from __future__ import annotations

import json
import threading
import time
from contextlib import ExitStack

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = ForwardMsg.ScriptFinishedStatus
STREAM_PATH = "/_stcore/stream"


class ProtocolSession:
    """One session on a running server (`url` as http://host:port). `open(page)` returns the
    seconds from the request until the server finished the page's script."""

    def __init__(self, url: str, timeout_s: float = 60.0):
        from websockets.sync.client import connect  # a test requirement (requirements-test.txt)

        self._exit = ExitStack()
        self._ws = self._exit.enter_context(connect("ws" + url.removeprefix("http") + STREAM_PATH,
                                                    subprotocols=["streamlit"], max_size=None,
                                                    open_timeout=timeout_s))
        self.timeout_s = timeout_s
        self.page = ""
        self.exceptions: list[str] = []
        self.closed_because: str | None = None
        self._missing_page = False
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)
        self._full_runs_done = 0
        self._full_run_status = None
        self._widgets: dict[str, WidgetState] = {}   # what this session has set, by widget id
        self._elements: list = []                    # the elements of the latest full run
        self._new_elements: list = []
        self._fragments: dict[str, float] = {}       # fragment id -> rerun interval (s)
        self._next_due: dict[str, float] = {}
        self._chart_x: dict[str, float] = {}         # chart title (layout.meta) -> newest x
        self._in_full_run = False
        self._stop = threading.Event()
        threading.Thread(target=self._receive, daemon=True).start()
        threading.Thread(target=self._fragment_timer, daemon=True).start()

    # -- what a student does ------------------------------------------------------------
    def open(self, page: str) -> float:
        """Switch to the page at url path `page` (its script runs in full)."""
        if page != self.page:
            with self._lock:
                self._fragments.clear()
        self.page = page
        return self._full_run()

    def set_widget(self, state: WidgetState) -> float:
        """A widget of this page changed (the page reruns, as in the browser)."""
        self._widgets[state.id] = state
        return self._full_run()

    def choose(self, label: str, option: str) -> float:
        """Pick `option` (as shown) of the radio or selectbox labelled `label`; they send the
        option's text, as the browser does."""
        for el in self._elements:
            w = getattr(el, el.WhichOneof("type"))
            if el.WhichOneof("type") in ("radio", "selectbox") and w.label == label:
                if option not in w.options:
                    raise LookupError(f"{label!r} has no option {option!r}: {list(w.options)}")
                return self.set_widget(WidgetState(id=w.id, string_value=option))
        raise LookupError(f"no radio or selectbox labelled {label!r} on {self.page}")

    def nudge_slider(self) -> float | None:
        """The page's first slider one step to the right (its lower handle for a range), if it
        has one: the seconds the rerun took."""
        for el in self._elements:
            if el.WhichOneof("type") == "slider":
                s = el.slider
                value = list(self._widgets[s.id].double_array_value.data) if s.id in self._widgets else \
                    list(s.value if s.set_value else s.default)
                if not value:       # nothing to move it from (a slider the page has not set yet)
                    continue
                value[0] = min(value[0] + s.step, s.max if len(value) == 1 else value[-1])
                state = WidgetState(id=s.id)
                state.double_array_value.data[:] = value
                return self.set_widget(state)
        return None

    def chart_last_x(self, title: str) -> float | None:
        with self._lock:
            return self._chart_x.get(title)

    def close(self) -> None:
        self._stop.set()
        self._exit.close()

    # -- the protocol ------------------------------------------------------------------
    def _send_rerun(self, fragment_id: str = "") -> None:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.page_name = self.page
        cs.widget_states.widgets.extend(self._widgets.values())
        if fragment_id:
            cs.fragment_id, cs.is_auto_rerun = fragment_id, True
        self._ws.send(msg.SerializeToString())

    def _full_run(self) -> float:
        t = time.monotonic()
        with self._lock:
            done = self._full_runs_done
            self._in_full_run, self._missing_page = True, False
            self._new_elements = []
        self._send_rerun()
        with self._finished:
            ok = self._finished.wait_for(lambda: self._full_runs_done > done or self.closed_because,
                                         timeout=self.timeout_s)
            self._in_full_run = False
        if self.closed_because:
            raise ConnectionError(self.closed_because)
        if not ok:
            raise TimeoutError(f"{self.page}: the script did not finish in {self.timeout_s:.0f} s")
        if self._missing_page:
            raise LookupError(f"the app has no page at /{self.page}")
        if self._full_run_status == FINISHED.FINISHED_WITH_COMPILE_ERROR:
            raise RuntimeError(f"{self.page}: the script did not compile")
        return time.monotonic() - t

    def _receive(self) -> None:
        try:
            while True:
                data = self._ws.recv()
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._handle(msg)
        except Exception as e:  # noqa: BLE001 - any end of the connection ends the session
            if not self._stop.is_set():
                self.closed_because = f"connection closed: {type(e).__name__}: {e}"
        with self._finished:
            self.closed_because = self.closed_because or (None if self._stop.is_set() else "connection closed")
            self._finished.notify_all()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "page_not_found":
            self._missing_page = True
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            what = el.WhichOneof("type")
            with self._lock:
                if self._in_full_run:
                    self._new_elements.append(el)
                if what == "exception":
                    self.exceptions.append(f"{el.exception.type}: {el.exception.message}"[:300])
                elif what == "plotly_chart" and el.plotly_chart.spec:
                    self._read_chart(el.plotly_chart.spec)
        elif kind == "auto_rerun":
            with self._lock:
                self._fragments[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
                self._next_due.setdefault(msg.auto_rerun.fragment_id, time.monotonic() + msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":       # the fragments it names only (evicted nested ones)
            with self._lock:
                for fid in msg.stop_auto_rerun.fragment_ids:
                    self._fragments.pop(fid, None)
        elif kind == "script_finished" and msg.script_finished != FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            with self._finished:
                if msg.script_finished != FINISHED.FINISHED_EARLY_FOR_RERUN:
                    self._elements = self._new_elements
                    self._full_run_status = msg.script_finished
                    self._full_runs_done += 1
                    self._finished.notify_all()

    def _read_chart(self, spec: str) -> None:
        fig = json.loads(spec)
        title = (fig.get("layout") or {}).get("meta")
        xs = [x for tr in fig.get("data", []) for x in (tr.get("x") or []) if isinstance(x, (int, float))]
        if isinstance(title, str) and xs:
            self._chart_x[title] = max(xs)

    def _fragment_timer(self) -> None:
        """Rerun each fragment on its interval, as the frontend's timers do (not during a full run)."""
        while not self._stop.wait(0.1):
            now, due = time.monotonic(), []
            with self._lock:
                if self._in_full_run:
                    continue
                for fid, interval in self._fragments.items():
                    if now >= self._next_due.get(fid, now):
                        due.append(fid)
                        self._next_due[fid] = now + interval
            for fid in due:
                try:
                    self._send_rerun(fid)
                except Exception:  # noqa: BLE001 - the receiver reports a closed connection
                    if self.closed_because:
                        return
