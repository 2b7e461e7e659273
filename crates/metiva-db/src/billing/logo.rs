//! The workspace's logo on its invoice PDFs (issue 17): the upload's
//! check (PNG or JPEG by content, at most [`MAX_LOGO_BYTES`] and
//! [`MAX_LOGO_SIDE`] pixels a side) and its conversion into a PDF image
//! (`pdf.rs` draws it at the top right of the invoice).
//!
//! # Security
//! A logo is untrusted input that is decoded on every invoice run, so it
//! is checked once at upload: the header's dimensions are bounded before
//! anything is inflated, and the inflated size must be exactly what the
//! header promises (a decompression bomb stops at that limit). Only 8-bit,
//! non-interlaced PNGs and baseline/progressive JPEGs in grey or RGB are
//! accepted; anything else is refused with a clear message, never
//! guessed at.

use miniz_oxide::deflate::compress_to_vec_zlib;
use miniz_oxide::inflate::decompress_to_vec_zlib_with_limit;

/// The logo upload limit: 512 KB (the table checks it too).
pub const MAX_LOGO_BYTES: usize = 512 * 1024;
/// The largest width or height, in pixels.
pub const MAX_LOGO_SIDE: u32 = 2000;

/// Why a logo was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogoError {
    #[error("a logo is at most 512 KB")]
    TooLarge,
    #[error("a logo is a PNG or JPEG image")]
    Type,
    /// A PNG or JPEG this writer does not take (16-bit, interlaced, CMYK,
    /// over 2000 pixels a side, or damaged).
    #[error("unsupported image: {0}")]
    Unsupported(&'static str),
}

/// An image as a PDF image XObject takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct PdfImage {
    pub width: u32,
    pub height: u32,
    /// `DeviceRGB` or `DeviceGray`.
    pub color_space: &'static str,
    /// `DCTDecode` (the JPEG's own bytes) or `FlateDecode`.
    pub filter: &'static str,
    pub data: Vec<u8>,
    /// The alpha channel, 8-bit grey, zlib-compressed.
    pub smask: Option<Vec<u8>>,
}

/// The content type of a logo upload, checked: `image/png` or
/// `image/jpeg`, and decodable here.
pub fn check(bytes: &[u8]) -> Result<&'static str, LogoError> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(LogoError::TooLarge);
    }
    let t = match crate::files::sniff(bytes) {
        Some(t @ ("image/png" | "image/jpeg")) => t,
        _ => return Err(LogoError::Type),
    };
    decode(bytes)?;
    Ok(t)
}

/// The image of a PNG or JPEG logo.
pub fn decode(bytes: &[u8]) -> Result<PdfImage, LogoError> {
    match crate::files::sniff(bytes) {
        Some("image/png") => png(bytes),
        Some("image/jpeg") => jpeg(bytes),
        _ => Err(LogoError::Type),
    }
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some((u32::from(*b.get(at)?) << 8) | u32::from(*b.get(at + 1)?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some((be16(b, at)? << 16) | be16(b, at + 2)?)
}

fn bounded(w: u32, h: u32) -> Result<(), LogoError> {
    if w == 0 || h == 0 || w > MAX_LOGO_SIDE || h > MAX_LOGO_SIDE {
        Err(LogoError::Unsupported("at most 2000 pixels a side"))
    } else {
        Ok(())
    }
}

/// A JPEG: its frame header gives the size and components; the bytes go
/// into the PDF as they are (`DCTDecode`).
fn jpeg(b: &[u8]) -> Result<PdfImage, LogoError> {
    let damaged = LogoError::Unsupported("a damaged JPEG");
    let mut at = 2;
    loop {
        // Markers are 0xFF, optional fill bytes, then the marker code.
        if b.get(at) != Some(&0xFF) {
            return Err(damaged);
        }
        while b.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *b.get(at).ok_or(damaged)?;
        at += 1;
        if matches!(marker, 0xD0..=0xD9 | 0x01) {
            continue; // no length
        }
        let len = be16(b, at).ok_or(damaged)? as usize;
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            let precision = *b.get(at + 2).ok_or(damaged)?;
            let h = be16(b, at + 3).ok_or(damaged)?;
            let w = be16(b, at + 5).ok_or(damaged)?;
            let comps = *b.get(at + 7).ok_or(damaged)?;
            if precision != 8 {
                return Err(LogoError::Unsupported("an 8-bit JPEG"));
            }
            if !matches!(marker, 0xC0..=0xC2) {
                return Err(LogoError::Unsupported("a baseline or progressive JPEG"));
            }
            bounded(w, h)?;
            let color_space = match comps {
                1 => "DeviceGray",
                3 => "DeviceRGB",
                _ => return Err(LogoError::Unsupported("a grey or RGB JPEG")),
            };
            return Ok(PdfImage {
                width: w,
                height: h,
                color_space,
                filter: "DCTDecode",
                data: b.to_vec(),
                smask: None,
            });
        }
        if len < 2 {
            return Err(damaged);
        }
        at += len;
    }
}

/// A PNG: inflated (to exactly the size its header promises),
/// unfiltered, its colour and alpha split, each compressed again.
fn png(b: &[u8]) -> Result<PdfImage, LogoError> {
    let damaged = LogoError::Unsupported("a damaged PNG");
    let mut at = 8;
    let mut header = None;
    let mut palette: &[u8] = &[];
    let mut trns: &[u8] = &[];
    let mut idat = Vec::new();
    while at + 8 <= b.len() {
        let len = be32(b, at).ok_or(damaged)? as usize;
        let kind = b.get(at + 4..at + 8).ok_or(damaged)?;
        let data = b.get(at + 8..at + 8 + len).ok_or(damaged)?;
        match kind {
            b"IHDR" => header = Some(data),
            b"PLTE" => palette = data,
            b"tRNS" => trns = data,
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    let h = header.ok_or(damaged)?;
    let (width, height) = (be32(h, 0).ok_or(damaged)?, be32(h, 4).ok_or(damaged)?);
    let (depth, color, interlace) = (
        *h.get(8).ok_or(damaged)?,
        *h.get(9).ok_or(damaged)?,
        *h.get(12).ok_or(damaged)?,
    );
    bounded(width, height)?;
    if depth != 8 || interlace != 0 {
        return Err(LogoError::Unsupported("an 8-bit, non-interlaced PNG"));
    }
    let channels: usize = match color {
        0 | 3 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => return Err(damaged),
    };
    let (w, hgt) = (width as usize, height as usize);
    let stride = w * channels;
    let expected = hgt * (stride + 1);
    let raw = decompress_to_vec_zlib_with_limit(&idat, expected).map_err(|_| damaged)?;
    if raw.len() != expected {
        return Err(damaged);
    }
    let pixels = unfilter(&raw, stride, channels).ok_or(damaged)?;
    let mut colour = Vec::with_capacity(w * hgt * 3);
    let mut alpha = Vec::with_capacity(w * hgt);
    let mut has_alpha = false;
    for px in pixels.chunks_exact(channels) {
        let a = match (color, px) {
            (0, [g]) => {
                colour.push(*g);
                255
            }
            (2, [r, g, bl]) => {
                colour.extend_from_slice(&[*r, *g, *bl]);
                255
            }
            (3, [i]) => {
                let i = usize::from(*i);
                let rgb = palette.get(i * 3..i * 3 + 3).ok_or(damaged)?;
                colour.extend_from_slice(rgb);
                trns.get(i).copied().unwrap_or(255)
            }
            (4, [g, a]) => {
                colour.push(*g);
                *a
            }
            (6, [r, g, bl, a]) => {
                colour.extend_from_slice(&[*r, *g, *bl]);
                *a
            }
            _ => return Err(damaged),
        };
        has_alpha |= a != 255;
        alpha.push(a);
    }
    let grey = matches!(color, 0 | 4);
    Ok(PdfImage {
        width,
        height,
        color_space: if grey { "DeviceGray" } else { "DeviceRGB" },
        filter: "FlateDecode",
        data: compress_to_vec_zlib(&colour, 6),
        smask: has_alpha.then(|| compress_to_vec_zlib(&alpha, 6)),
    })
}

/// Reverses PNG's per-row filters (None, Sub, Up, Average, Paeth).
fn unfilter(raw: &[u8], stride: usize, bpp: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; raw.len() / (stride + 1) * stride];
    let mut prev = vec![0u8; stride];
    for (row, chunk) in raw.chunks_exact(stride + 1).enumerate() {
        let (filter, line) = chunk.split_first()?;
        let mut cur = line.to_vec();
        for i in 0..stride {
            let a = if i >= bpp {
                cur.get(i - bpp).copied()?
            } else {
                0
            };
            let up = prev.get(i).copied()?;
            let c = if i >= bpp {
                prev.get(i - bpp).copied()?
            } else {
                0
            };
            let x = cur.get(i).copied()?;
            let v = match *filter {
                0 => x,
                1 => x.wrapping_add(a),
                2 => x.wrapping_add(up),
                3 => x.wrapping_add(((u16::from(a) + u16::from(up)) / 2) as u8),
                4 => x.wrapping_add(paeth(a, up, c)),
                _ => return None,
            };
            *cur.get_mut(i)? = v;
        }
        out.get_mut(row * stride..(row + 1) * stride)?
            .copy_from_slice(&cur);
        prev = cur;
    }
    Some(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// The logo's pixels, uncompressed (colour components, 8 bits each), with
/// any transparency blended onto white (the invoice page is white, so the
/// logo looks as with its alpha channel, and no soft mask is needed):
/// what `pdf.rs` hands krilla as the image's pixels. None for a JPEG (it
/// goes in as it is) or should the data not inflate to the size the image
/// promises.
pub fn pixels_on_white(img: &PdfImage) -> Option<Vec<u8>> {
    if img.filter != "FlateDecode" {
        return None;
    }
    let pixels = (img.width as usize).checked_mul(img.height as usize)?;
    let channels = if img.color_space == "DeviceGray" {
        1
    } else {
        3
    };
    // Bounded: the sizes were checked (at most 2000 x 2000) at decoding.
    let mut colour = decompress_to_vec_zlib_with_limit(&img.data, pixels * channels).ok()?;
    if colour.len() != pixels * channels {
        return None;
    }
    if let Some(mask) = &img.smask {
        let alpha = decompress_to_vec_zlib_with_limit(mask, pixels).ok()?;
        if alpha.len() != pixels {
            return None;
        }
        for (px, a) in colour.chunks_exact_mut(channels).zip(alpha) {
            for c in px {
                // c * a + 255 * (1 - a), in 0..=255.
                let v = (u32::from(*c) * u32::from(a) + 255 * (255 - u32::from(a)) + 127) / 255;
                *c = u8::try_from(v).unwrap_or(u8::MAX);
            }
        }
    }
    Some(colour)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PNG of `w` x `h` pixels of colour type `color` with the given
    /// filtered rows.
    pub(crate) fn png_bytes(w: u32, h: u32, color: u8, rows: &[u8]) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], data: &[u8]| {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&[0, 0, 0, 0]); // CRC: not checked here
        };
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, color, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        chunk(b"IDAT", &compress_to_vec_zlib(rows, 6));
        chunk(b"IEND", &[]);
        out
    }

    #[test]
    fn an_rgba_png_is_unfiltered_and_split_into_colour_and_alpha() {
        // 2 x 2 RGBA: row 0 unfiltered, row 1 "Up" (adds the row above).
        let rows = [
            0, 10, 20, 30, 255, 40, 50, 60, 128, //
            2, 1, 1, 1, 0, 1, 1, 1, 0,
        ];
        let img = decode(&png_bytes(2, 2, 6, &rows)).unwrap();
        assert_eq!(
            (img.width, img.height, img.color_space),
            (2, 2, "DeviceRGB")
        );
        let colour = miniz_oxide::inflate::decompress_to_vec_zlib(&img.data).unwrap();
        assert_eq!(colour, [10, 20, 30, 40, 50, 60, 11, 21, 31, 41, 51, 61]);
        let alpha = miniz_oxide::inflate::decompress_to_vec_zlib(&img.smask.unwrap()).unwrap();
        assert_eq!(alpha, [255, 128, 255, 128]);
    }

    #[test]
    fn paeth_and_average_filters_invert() {
        // 2 x 1 grey, "Sub": the second pixel adds the first.
        let img = decode(&png_bytes(2, 1, 0, &[1, 7, 3])).unwrap();
        let px = miniz_oxide::inflate::decompress_to_vec_zlib(&img.data).unwrap();
        assert_eq!(px, [7, 10]);
        assert!(img.smask.is_none());
        assert_eq!(paeth(10, 20, 10), 20);
        assert_eq!(paeth(10, 20, 20), 10);
    }

    #[test]
    fn bad_logos_are_refused_before_decoding_much() {
        assert_eq!(check(b"GIF89a...."), Err(LogoError::Type));
        assert_eq!(check(b"%PDF-1.4"), Err(LogoError::Type));
        assert_eq!(
            check(&std::iter::repeat_n(0xFF, MAX_LOGO_BYTES + 1).collect::<Vec<u8>>()),
            Err(LogoError::TooLarge)
        );
        // A header promising 100,000 pixels a side is refused before
        // anything is inflated.
        let huge = png_bytes(100_000, 100_000, 6, &[0]);
        assert!(matches!(check(&huge), Err(LogoError::Unsupported(_))));
        // Fewer bytes than the header promises: damaged.
        let short = png_bytes(4, 4, 2, &[0, 1, 2]);
        assert!(matches!(check(&short), Err(LogoError::Unsupported(_))));
    }

    #[test]
    fn a_jpeg_frame_header_gives_its_size() {
        // SOI, APP0 (length 4), SOF0: 8-bit, 30 x 40, 3 components.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        j.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 8, 0, 30, 0, 40, 3]);
        j.extend_from_slice(&[0; 9]);
        let img = decode(&j).unwrap();
        assert_eq!((img.width, img.height, img.filter), (40, 30, "DCTDecode"));
        assert_eq!(img.data, j);
        assert_eq!(check(&j), Ok("image/jpeg"));
    }

    #[test]
    fn transparency_is_blended_onto_white() {
        // 2 x 1 grey + alpha: black opaque, black fully transparent.
        let img = decode(&png_bytes(2, 1, 4, &[0, 0, 255, 0, 0])).unwrap();
        assert_eq!(pixels_on_white(&img).unwrap(), [0, 255]);
        // Half transparent red over white: pink.
        let img = decode(&png_bytes(1, 1, 6, &[0, 255, 0, 0, 128])).unwrap();
        assert_eq!(pixels_on_white(&img).unwrap(), [255, 127, 127]);
    }
}
