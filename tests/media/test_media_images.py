"""Image compression on real generated images: size, dimensions, colour space, refusals."""

from __future__ import annotations

import resource

import pytest
import pyvips
from _media_helpers import animated_gif, bomb_png, cmyk_jpeg, photo_12mp, png_with_alpha, spec
from b9_media.errors import MediaError
from b9_media.images import process_image


def _decode(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


def test_12mp_jpeg_becomes_1080px_under_300kb() -> None:
    src = photo_12mp()
    assert len(src) > 2_000_000
    out = process_image(src, spec())
    img = _decode(out.data)
    assert (img.width, img.height) == (1080, 810) == (out.width, out.height)
    assert len(out.data) <= 300_000
    assert img.interpretation == "srgb" and img.bands == 3
    assert img.get_typeof("exif-data") == 0 and img.get_typeof("icc-profile-data") == 0


def test_quality_steps_down_until_it_fits() -> None:
    src = photo_12mp()
    roomy = process_image(src, spec(max_bytes=300_000))
    tight = process_image(src, spec(max_bytes=len(roomy.data) // 2))
    assert tight.quality < roomy.quality
    assert len(tight.data) <= len(roomy.data) // 2


def test_profile_picture_320px_under_200kb() -> None:
    out = process_image(photo_12mp(), spec(max_edge=320, max_bytes=200_000))
    assert max(out.width, out.height) == 320 and len(out.data) <= 200_000


def test_png_alpha_is_flattened_on_white() -> None:
    out = process_image(png_with_alpha(), spec())
    img = _decode(out.data)
    assert img.bands == 3 and (img.width, img.height) == (1080, 810)
    corner = img.getpoint(5, 5)
    centre = img.getpoint(540, 405)
    assert all(v > 245 for v in corner), corner  # transparent -> white
    assert centre[0] > 150 and centre[1] < 80, centre  # the red square stays red


def test_cmyk_jpeg_is_converted_to_srgb() -> None:
    out = process_image(cmyk_jpeg(), spec())
    img = _decode(out.data)
    assert img.interpretation == "srgb" and img.bands == 3
    r, g, b = img.getpoint(100, 100)
    assert r > 200 and g > 180 and b < 100, (r, g, b)  # yellow ink -> yellow pixels
    assert max(out.width, out.height) == 1080


def test_animated_gif_becomes_a_still_of_the_first_frame() -> None:
    out = process_image(animated_gif(), spec())
    img = _decode(out.data)
    assert (img.width, img.height) == (800, 600)  # never enlarged
    r, g, b = img.getpoint(400, 300)
    assert r > 200 and g < 60 and b < 60
    assert out.content_type == "image/jpeg"


def test_webp_output_when_configured() -> None:
    out = process_image(photo_12mp(), spec(format="webp"))
    assert out.data[:4] == b"RIFF" and out.data[8:12] == b"WEBP"
    assert out.content_type == "image/webp" and len(out.data) <= 300_000


def test_truncated_and_garbage_images_are_corrupt() -> None:
    src = photo_12mp()
    with pytest.raises(MediaError) as e1:
        process_image(src[: len(src) // 2], spec())
    assert e1.value.reason == "corrupt"
    with pytest.raises(MediaError) as e2:
        process_image(b"\xff\xd8\xff" + b"\x00" * 5000, spec())
    assert e2.value.reason == "corrupt"


def test_decompression_bomb_refused_from_the_header() -> None:
    bomb = bomb_png()
    assert len(bomb) < 1_000_000  # kilobytes on the wire ...
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(MediaError) as exc:
        process_image(bomb, spec(max_pixels=100_000_000))  # ... 400 MP (1.2 GB as RGB) decoded
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert exc.value.reason == "too_many_pixels"
    assert (after - before) < 200_000  # KiB: peak memory did not grow by the decoded size
