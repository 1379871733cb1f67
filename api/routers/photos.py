"""Photos of cases (现场照片): upload from the grid worker's phone, list, and read back.

JPEG and PNG only, recognised by their magic bytes; the size cap is a setting (GRID_PHOTO_MAX_BYTES).
An upload with an Idempotency-Key is stored once, so the phone's offline queue can safely resend it.
"""

from typing import Annotated

from fastapi import APIRouter, File, Header, Query, Request, Response, UploadFile, status
from pydantic import BaseModel

from api.deps import SessionDep, UserDep
from api.permissions import ReportUser
from api.routing import ReadRoute
from geo.errors import InvalidInputError
from geo.queries import photos

router = APIRouter(route_class=ReadRoute, prefix="/api/events", tags=["photos"])
PhotoKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


class PhotoPublic(BaseModel):
    """A stored photo, without its bytes (read them from `url`)."""

    id: int
    event_id: int
    content_type: str
    size: int
    uploaded_by: str
    at: str
    stage: str | None = None
    url: str
    whistle_id: int | None = None
    department: str | None = None


def public_photo(row: dict) -> dict:
    """A photo row as the API shows it (its bytes at `url`, a path under the app's root)."""
    return {
        **row,
        "at": row["at"].isoformat(),
        "url": f"/api/events/{row['event_id']}/photos/{row['id']}",
    }


@router.post("/{event_id}/photos", status_code=status.HTTP_201_CREATED, response_model=PhotoPublic)
def upload_photo(
    event_id: int,
    photo: Annotated[UploadFile, File(description="JPEG or PNG")],
    request: Request,
    session: SessionDep,
    user: ReportUser,
    response: Response,
    key: PhotoKey = None,
    stage: Annotated[
        str | None, Query(description="before | after: 处置前 / 处置后 (handling photos)")
    ] = None,
) -> dict:
    """Attach a photo to a case; 400 unless JPEG/PNG under the cap; a repeated key answers 200."""
    data, cap = read_upload(request, photo)
    row, created = photos.add_photo(
        session, event_id, data, area=user.area, actor=user.name, max_bytes=cap, client_key=key, stage=stage
    )
    session.commit()
    return answer_photo(response, row, created)


def read_upload(request: Request, photo: UploadFile) -> tuple[bytes, int]:
    """The uploaded photo's bytes and the size cap (GRID_PHOTO_MAX_BYTES); 400 when it is larger."""
    cap = request.app.state.settings.photos.max_bytes
    data = photo.file.read(cap + 1)  # never read more than one byte past the cap
    if len(data) > cap:
        raise InvalidInputError(f"照片不能超过 {cap // 1024} KB", where="photo")
    return data, cap


def answer_photo(response: Response, row: dict, created: bool) -> dict:
    """The stored photo as the API shows it: 201 when this upload stored it, 200 for a repeated key."""
    if not created:
        response.status_code = status.HTTP_200_OK
    return public_photo(row)


@router.get("/{event_id}/photos", response_model=list[PhotoPublic])
def list_photos(event_id: int, session: SessionDep, user: UserDep) -> list:
    """The photos of a case, oldest first."""
    return [public_photo(r) for r in photos.list_photos(session, event_id, user.area)]


@router.get("/{event_id}/photos/{photo_id}", response_class=Response)
def get_photo(event_id: int, photo_id: int, session: SessionDep, user: UserDep) -> Response:
    """The image bytes, with their sniffed type (never rendered as anything else)."""
    row = photos.get_photo(session, event_id, photo_id, user.area)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    return Response(bytes(row["bytes"]), media_type=row["content_type"], headers=headers)
