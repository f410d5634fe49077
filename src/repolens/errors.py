"""The one error tree. Each class's docstring is its default message.

RepolensError
├── InputError                 the user asked for something we cannot do (exit 2)
│   ├── Refused                outside input a guard will not pass on (422)
│   ├── FetchError             a repository could not be cloned, fetched or read
│   │   └── RefNotFoundError   the ref does not exist in the repository
│   ├── UnknownAnalyzerError   an analyzer name that is not registered
│   └── UnknownFormatError     a report format we cannot render
├── AnalyzerError              one analyzer failed; its step fails, not the scan
│   ├── ToolError              an external tool exited badly or printed garbage
│   └── ServiceNotProvided     an analyzer asked for a service its scan does not give
├── NotFoundError              no project, run or report by that id the caller may see (404)
├── Unauthenticated            no proof of who is asking, or a proof that fails (401)
├── Forbidden                  who is asking may see this, but not do that (403)
├── Conflict                   the request conflicts with what is stored (409)
├── GitError                   a git command failed
├── DeliveryFailed             a notification could not be delivered now (retried)
├── QueueUnavailable           the job queue's broker cannot be reached now (503)
├── TooManyConnections         a client address holds as many live connections as allowed (429)
├── OverLimit                  a rate limit is spent (429, with when to try again)
├── OverTimeLimit              a scan ran past its time limit and was stopped
└── ScanAborted                the scan was cancelled between steps
"""

from __future__ import annotations


class RepolensError(Exception):
    """Something went wrong in repolens."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self)


class InputError(RepolensError):
    """The input cannot be used."""


class Refused(InputError):
    """That input is not allowed."""

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Conflict(RepolensError):
    """That conflicts with the current state."""


class FetchError(InputError):
    """The repository could not be fetched."""


class RefNotFoundError(FetchError):
    """The ref does not exist in the repository."""


class UnknownAnalyzerError(InputError):
    """No analyzer by that name is registered."""


class UnknownFormatError(InputError):
    """No report format by that name."""


class AnalyzerError(RepolensError):
    """The analyzer failed."""


class ToolError(AnalyzerError):
    """An external tool failed."""


class ServiceNotProvided(AnalyzerError):
    """The scan gives its analyzers no such service."""


class NotFoundError(RepolensError):
    """Not found."""


class GitError(RepolensError):
    """A git command failed."""


class ScanAborted(RepolensError):
    """The scan was cancelled."""


class DeliveryFailed(RepolensError):
    """The notification could not be delivered; it is worth trying again."""


class QueueUnavailable(RepolensError):
    """The job queue cannot be reached."""


class TooManyConnections(RepolensError):
    """Too many live connections from this address."""


class OverLimit(RepolensError):
    """Too many requests: try again later."""

    def __init__(self, message: str, headers: dict[str, str], retry_after: int) -> None:
        super().__init__(message)
        self.headers, self.retry_after = headers, retry_after


class OverTimeLimit(RepolensError):
    """The scan ran past its time limit and was stopped."""


class Unauthenticated(RepolensError):
    """A request without the proof it needs (a token, a webhook's signature): 401."""


class Forbidden(RepolensError):
    """You may not do that here."""


class TooLarge(InputError):
    """A request body over its limit: 413."""
