"""Background work starts with the app, in one place, and stops with it: after `services.stop`
no thread of that app is left polling its database."""
from __future__ import annotations

from queue_server import services
from queue_server.app import create_app

from conftest import SMALL_HALL


def test_an_apps_background_work_starts_with_it_and_stops_with_it(tmp_path, sqlite_db, monkeypatch):
    monkeypatch.setenv("HALL_WORKERS", "1")                      # on the real clock: workers run
    app = create_app([SMALL_HALL], sqlite_db(tmp_path / "hall.db"), secret=b"s" * 32)
    monitor, workers = app.extensions["hall_device_monitor"], app.extensions["hall_workers"]
    threads = [monitor.thread, *workers.threads]
    assert {t.name for t in threads} == {"hall-device-monitor", "hall-supervision", "hall-sms"}
    assert all(t.is_alive() for t in threads)

    services.stop(app)
    assert not any(t.is_alive() for t in threads)
    services.stop(app)                                           # twice is harmless
    app.extensions["hall"].engine.dispose()


def test_a_test_clock_app_gets_the_monitor_but_no_workers(app):
    assert "hall_workers" not in app.extensions
    assert app.extensions["hall_device_monitor"].thread.is_alive()


def test_the_kiosk_print_queues_in_the_server_stop_with_the_app(app, client):
    """A paired kiosk's backend (made on its first request) holds a print queue thread; the
    app's stop closes it rather than leaving it to the process's exit."""
    from kiosk.views import backends
    answer = client.get("/kiosk/api/status", headers={"Authorization": "Bearer test-kiosk"})
    assert answer.status_code == 200, answer.get_json()
    [backend] = backends(app)
    queue_thread = backend.printer().queue._thread
    assert queue_thread.is_alive()
    services.stop(app)
    assert not queue_thread.is_alive()
