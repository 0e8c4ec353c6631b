"""Constrained scalar types shared by the payloads."""

from __future__ import annotations

from typing import Annotated

import msgspec

NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
NonNegFloat = Annotated[float, msgspec.Meta(ge=0)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Url = Annotated[str, msgspec.Meta(max_length=4096)]
Ratio = Annotated[float, msgspec.Meta(ge=0, le=1)]
Hour = Annotated[int, msgspec.Meta(ge=0, le=23)]
Weekday = Annotated[int, msgspec.Meta(ge=0, le=6)]  # Monday = 0
