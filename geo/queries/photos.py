"""Photos of cases: sniff the image type from its bytes, store once per client key, read back.

    sniff_image(data) -> "image/jpeg" | "image/png"
    check_photo(data, max_bytes) -> the same, once the photo is not empty and not too big
    add_photo(session, event_id, data, *, area, actor, max_bytes, client_key=None) -> dict
    get_photo(session, event_id, photo_id, area) -> dict (with "bytes")

Access follows the case: the event must be inside the area (and RLS on event_photos joins on events).
"""

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.errors import InvalidInputError, NotFoundError
from geo.queries.events import get_event

# Magic numbers, not the browser's Content-Type or the file name: both are the client's word.
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
_COLUMNS = "id, event_id, content_type, size, uploaded_by, at, whistle_id, stage"
STAGES = ("before", "after")  # 处置前 / 处置后; a photo of the report itself has none
_INSERT = text(f"""
INSERT INTO event_photos (event_id, content_type, bytes, client_key, uploaded_by, at, whistle_id, stage)
VALUES (:e, :ct, :b, :k, :actor, :now, :w, :stage)
ON CONFLICT (event_id, uploaded_by, client_key) DO NOTHING
RETURNING {_COLUMNS}
""")
_BY_KEY = text(
    f"SELECT {_COLUMNS} FROM event_photos WHERE event_id = :e AND uploaded_by = :actor AND client_key = :k"
)
_GET = text(f"SELECT {_COLUMNS}, bytes FROM event_photos WHERE event_id = :e AND id = :p")
# With the department whose answer a photo came with (a department sees only its own tasks' names).
_LIST = text("""
SELECT p.id, p.event_id, p.content_type, p.size, p.uploaded_by, p.at, p.whistle_id, p.stage,
       d.name AS department
FROM event_photos p
LEFT JOIN whistles w ON w.id = p.whistle_id LEFT JOIN departments d ON d.id = w.department_id
WHERE p.event_id = :e ORDER BY p.id LIMIT 100
""")


def sniff_image(data: bytes) -> str:
    """The image type of `data` from its first bytes; InvalidInputError unless JPEG or PNG."""
    for magic, content_type in _MAGIC:
        if data.startswith(magic):
            return content_type
    raise InvalidInputError("照片只能是 JPEG 或 PNG 图片", where="photo")


def check_photo(data: bytes, max_bytes: int) -> str:
    """The image type of an uploaded photo; InvalidInputError when it is empty, too big or not an image."""
    if not data:
        raise InvalidInputError("照片为空", where="photo")
    if len(data) > max_bytes:
        raise InvalidInputError(f"照片不能超过 {max_bytes // 1024} KB", where="photo")
    return sniff_image(data)


def add_photo(
    session: Session,
    event_id: int,
    data: bytes,
    *,
    area: str,
    actor: str,
    max_bytes: int,
    client_key: str | None = None,
    whistle_id: int | None = None,
    stage: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store a photo of a case in the area, with a department's task when it came with its answer;
    ({photo}, created). The uploader's repeated client_key gives their first (another account's key is
    another key). `stage`: before / after handling (处置前后), None for the report's own photo."""
    content_type = _check_case_photo(data, max_bytes, stage)
    get_event(session, event_id, area)  # NotFoundError outside the area
    params = {"e": event_id, "ct": content_type, "b": data, "k": client_key, "actor": actor}
    params |= {"now": clock.now(), "w": whistle_id, "stage": stage}
    return _insert_once(session, params)


def _check_case_photo(data: bytes, max_bytes: int, stage: str | None) -> str:
    """check_photo, for a case photo whose stage (if any) is one of STAGES."""
    if stage is not None and stage not in STAGES:
        raise InvalidInputError(f"stage 须为 {', '.join(STAGES)} 之一；收到 {stage!r}", where="stage")
    return check_photo(data, max_bytes)


def _insert_once(session: Session, params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Insert the photo unless the uploader's client key already holds one; (that photo, created)."""
    row = session.execute(_INSERT, params).mappings().first()
    if row is not None:
        return dict(row), True
    earlier = session.execute(_BY_KEY, params).mappings().one()
    return dict(earlier), False


def get_photo(session: Session, event_id: int, photo_id: int, area: str) -> dict[str, Any]:
    """One photo of a case in the area, with its bytes; NotFoundError otherwise."""
    get_event(session, event_id, area)
    row = session.execute(_GET, {"e": event_id, "p": photo_id}).mappings().first()
    if row is None:
        raise NotFoundError(f"照片 {photo_id} 不存在", where="photo_id")
    return dict(row)


def list_photos(session: Session, event_id: int, area: str) -> list[dict[str, Any]]:
    """The photos of a case in the area (without bytes), oldest first."""
    get_event(session, event_id, area)
    return [dict(r) for r in session.execute(_LIST, {"e": event_id}).mappings()]
