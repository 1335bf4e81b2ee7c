"""Errors that reach people and programs: a stable code for programs, a Chinese message for people."""
from __future__ import annotations

from . import schemas


class HallError(Exception):
    """A refusal the hall can explain. `status` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, code: str, message: str, status: int | None = None, **detail):
        super().__init__(message)
        self.code, self.message, self.detail = code, message, detail
        if status is not None:
            self.status = status

    def to_dict(self) -> "schemas.Error":
        body = schemas.ErrorBody(code=self.code, message=self.message)
        if self.detail:
            body["detail"] = self.detail
        return schemas.Error(error=body)


def bad_request(code: str, message: str, **detail) -> HallError:
    return HallError(code, message, 400, **detail)


def not_found(code: str, message: str) -> HallError:
    return HallError(code, message, 404)


def conflict(code: str, message: str, **detail) -> HallError:
    return HallError(code, message, 409, **detail)


def forbidden(code: str, message: str) -> HallError:
    return HallError(code, message, 403)


def unauthorized(message: str = "请先登录或提供有效的令牌") -> HallError:
    return HallError("unauthorized", message, 401)
