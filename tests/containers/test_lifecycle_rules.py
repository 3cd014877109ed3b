"""The container state machine, Docker's command and env rules, restart policies."""

from __future__ import annotations

import pytest

from engine.containers.command import DEFAULT_PATH, merge_env, resolve_command
from engine.containers.restart import MAX_DELAY, RestartTracker, parse_policy
from engine.containers.state import TRANSITIONS, Operation, Status, allowed_operations, transition
from engine.errors import InvalidSpec, InvalidStateTransition


class TestStateMachine:
    def test_normal_life(self) -> None:
        status = Status.CREATED
        for operation, expected in [(Operation.START, Status.RUNNING), (Operation.PAUSE, Status.PAUSED),
                                    (Operation.UNPAUSE, Status.RUNNING), (Operation.EXIT, Status.EXITED),
                                    (Operation.START, Status.RUNNING), (Operation.STOP, Status.EXITED),
                                    (Operation.REMOVE, Status.REMOVING)]:
            status = transition(status, operation)
            assert status is expected

    def test_removing_a_running_container_names_both_states_and_the_way_out(self) -> None:
        with pytest.raises(InvalidStateTransition) as caught:
            transition(Status.RUNNING, Operation.REMOVE, 'container "web"')
        message = str(caught.value)
        assert 'container "web"' in message and "running" in message
        assert "stop the container before" in message
        assert caught.value.current == "running" and caught.value.wanted == "remove"
        assert caught.value.status == 409

    def test_force_remove_is_allowed_while_running(self) -> None:
        assert transition(Status.RUNNING, Operation.FORCE_REMOVE) is Status.REMOVING

    @pytest.mark.parametrize("status", [Status.CREATED, Status.EXITED])
    def test_kill_and_pause_need_a_running_container(self, status: Status) -> None:
        for operation in (Operation.KILL, Operation.PAUSE):
            with pytest.raises(InvalidStateTransition, match="not running"):
                transition(status, operation)

    def test_nothing_leaves_removing(self) -> None:
        assert allowed_operations(Status.REMOVING) == []
        with pytest.raises(InvalidStateTransition):
            transition(Status.REMOVING, Operation.START)

    def test_every_status_has_a_row(self) -> None:
        assert set(Status) == set(TRANSITIONS)


class TestCommand:
    def test_image_entrypoint_and_cmd(self) -> None:
        assert resolve_command(["/entry"], ["a", "b"], None, None) == ["/entry", "a", "b"]

    def test_user_cmd_replaces_image_cmd_only(self) -> None:
        assert resolve_command(["/entry"], ["a"], None, ["x"]) == ["/entry", "x"]

    def test_user_entrypoint_drops_image_cmd(self) -> None:
        assert resolve_command(["/entry"], ["a"], ["/other"], None) == ["/other"]
        assert resolve_command(["/entry"], ["a"], ["/other"], ["y"]) == ["/other", "y"]

    def test_empty_entrypoint_clears_the_images(self) -> None:
        assert resolve_command(["/entry"], ["a"], [], ["sh"]) == ["sh"]

    def test_nothing_to_run_is_a_clear_error(self) -> None:
        with pytest.raises(InvalidSpec, match="no command specified"):
            resolve_command(None, None, None, None)


class TestEnv:
    def test_defaults_then_image_then_user(self) -> None:
        env = merge_env(["PATH=/bin", "A=image", "B=image"], ["A=user", "C=user"], hostname="web", tty=True)
        assert env == ["PATH=/bin", "HOSTNAME=web", "TERM=xterm", "A=user", "B=image", "C=user"]

    def test_default_path(self) -> None:
        assert merge_env(None, None) == [f"PATH={DEFAULT_PATH}"]

    def test_nul_is_refused(self) -> None:
        with pytest.raises(InvalidSpec, match="NUL"):
            merge_env([], ["A=b\0c"])


class TestRestart:
    def test_parse(self) -> None:
        assert parse_policy("") == ("no", 0)
        assert parse_policy("on-failure:3") == ("on-failure", 3)
        assert parse_policy("unless-stopped") == ("unless-stopped", 0)
        for bad in ("sometimes", "always:2", "on-failure:x", "on-failure:-1"):
            with pytest.raises(InvalidSpec, match="invalid restart policy"):
                parse_policy(bad)

    def test_backoff_doubles_up_to_a_minute_and_resets_after_a_long_run(self) -> None:
        tracker = RestartTracker(policy="always")
        delays = [tracker.next_restart(1, ran_for=0.5) for _ in range(12)]
        assert delays[:4] == [0.1, 0.2, 0.4, 0.8]
        assert delays[-1] == MAX_DELAY
        assert tracker.next_restart(1, ran_for=30) == 0.1

    def test_on_failure_counts_and_ignores_success(self) -> None:
        tracker = RestartTracker(policy="on-failure", maximum_retry_count=2)
        assert tracker.next_restart(0, 1) is None
        assert tracker.next_restart(1, 1) is not None
        assert tracker.next_restart(1, 1) is not None
        assert tracker.next_restart(1, 1) is None

    def test_manual_stop_cancels_until_manual_start(self) -> None:
        tracker = RestartTracker(policy="unless-stopped")
        tracker.on_manual_stop()
        assert tracker.next_restart(1, 1) is None
        assert not tracker.restarts_on_engine_start()
        tracker.on_manual_start()
        assert tracker.next_restart(1, 1) == 0.1
        assert tracker.restarts_on_engine_start()
