//! aria2c's control files (`NAME.aria2`, beside a download aria2c left unfinished): which byte
//! ranges of the file aria2c wrote, so that `-c` asks only for the others.
//!
//! The format is aria2's "Control File (*.aria2) Format": version (2 bytes: 1 is big-endian,
//! 0 the byte order of the machine that wrote it), extension (4), info hash length (4) and
//! hash (a torrent's; refused here), piece length (4), total length (8), upload length (8),
//! bitfield length (4) and bitfield (a bit a piece, the first piece in the highest bit of the
//! first byte), then the pieces being written when aria2c stopped (a count, then for each its
//! index, length and a bitfield of its 16 KiB blocks): the blocks written of those are kept
//! too, as aria2c keeps them, and only their other blocks asked for.

/// Most bytes of a control file read: a bit a piece makes 128 KiB for a terabyte of 1 MiB
/// pieces, and aria2c's pieces are never smaller.
pub const MAX_CONTROL: u64 = 4 * 1024 * 1024;

/// What a control file says of its download.
#[derive(Debug, PartialEq, Eq)]
pub struct Written {
    /// The file's whole length.
    pub total: u64,
    /// The byte ranges aria2c wrote whole, in order, adjacent pieces joined.
    pub done: Vec<(u64, u64)>,
}

/// Reads a control file's pieces; an error says why it cannot be used.
pub fn read(bytes: &[u8]) -> Result<Written, String> {
    let mut at = Reader {
        bytes,
        at: 0,
        big: true,
    };
    at.big = match at.take(2)? {
        [0, 1] => true,
        // Version 0 is in the writer's byte order, which `1` tells when read as a u16.
        [0, 0] => cfg!(target_endian = "big"),
        other => return Err(format!("version {other:02x?} is not one aria2c writes")),
    };
    at.take(4)?;
    let hash = at.u32()?;
    if hash != 0 {
        return Err("it is a torrent's".into());
    }
    let piece = u64::from(at.u32()?);
    let total = at.u64()?;
    at.u64()?;
    let field = at.u32()? as usize;
    let pieces = match piece {
        0 => return Err("its piece length is 0".into()),
        piece => total.div_ceil(piece),
    };
    if field as u64 != pieces.div_ceil(8) {
        return Err(format!("{field} bytes of bitfield for {pieces} pieces"));
    }
    let field = at.take(field)?;
    // The last piece may be short.
    let span = |index: u64| (index * piece, (index + 1).saturating_mul(piece).min(total));
    let mut ranges: Vec<(u64, u64)> = (0..pieces).filter(|&i| bit(field, i)).map(span).collect();
    // What does not read as pieces being written (cut short, or not as described) leaves
    // those pieces missing whole, which is only more to ask for.
    ranges.extend(in_flight(&mut at, pieces, &span).unwrap_or_default());
    ranges.sort_unstable();
    let mut done: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        match done.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => done.push((start, end)),
        }
    }
    Ok(Written { total, done })
}

/// Whether bit `index` of an aria2 bitfield is set: the first in the highest bit of the first
/// byte. `field` holds it (its length was checked against the count).
fn bit(field: &[u8], index: u64) -> bool {
    field[(index / 8) as usize] & (0x80 >> (index % 8)) != 0
}

/// aria2's block: the unit a piece being written is recorded in.
const BLOCK: u64 = 16 * 1024;

/// The blocks written of the pieces being written, as byte ranges: each piece must be one of
/// the file's (`span` gives its bytes) and its record of the length and bitfield that piece
/// has. A piece listed twice, or one the bitfield has whole, only repeats bytes already kept.
fn in_flight(
    at: &mut Reader<'_>,
    pieces: u64,
    span: &dyn Fn(u64) -> (u64, u64),
) -> Result<Vec<(u64, u64)>, String> {
    let count = at.u32()?;
    let mut ranges = Vec::new();
    for _ in 0..count {
        let index = u64::from(at.u32()?);
        let length = u64::from(at.u32()?);
        let field = at.u32()? as usize;
        if index >= pieces {
            return Err(format!("piece {index} of {pieces}"));
        }
        let (start, end) = span(index);
        let blocks = length.div_ceil(BLOCK);
        if length != end - start || field as u64 != blocks.div_ceil(8) {
            return Err(format!("piece {index} recorded as {length} bytes"));
        }
        let field = at.take(field)?;
        for block in 0..blocks {
            if bit(field, block) {
                let from = start + block * BLOCK;
                ranges.push((from, (from + BLOCK).min(end)));
            }
        }
    }
    Ok(ranges)
}

/// Reads fixed-size fields in the file's byte order.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    big: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or("it ends too soon")?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let bytes: [u8; 4] = self.take(4)?.try_into().expect("four bytes taken");
        Ok(match self.big {
            true => u32::from_be_bytes(bytes),
            false => u32::from_le_bytes(bytes),
        })
    }

    fn u64(&mut self) -> Result<u64, String> {
        let bytes: [u8; 8] = self.take(8)?.try_into().expect("eight bytes taken");
        Ok(match self.big {
            true => u64::from_be_bytes(bytes),
            false => u64::from_le_bytes(bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The control file aria2c 1.37 left when `aria2c -x4 -s4 -k1M` was interrupted 3 s into
    /// 32 MiB sent at 1 MiB/s a connection: pieces 0-2, 8-10, 16-18 and 24-26 whole, and
    /// pieces 3, 11, 19 and 27 being written (33, 32, 32 and 32 of their 64 blocks in).
    const INTERRUPTED: &str = "0001 00000000 00000000 00100000 0000000002000000 0000000000000000 \
        00000004 e0e0e0e0 00000004 00000003 00100000 00000008 ffffffff80000000 0000000b \
        00100000 00000008 ffffffff00000000 00000013 00100000 00000008 ffffffff00000000 \
        0000001b 00100000 00000008 ffffffff00000000";

    fn bytes(hex: &str) -> Vec<u8> {
        let hex: String = hex.split_whitespace().collect();
        crate::links::unhex(&hex).unwrap()
    }

    #[test]
    fn the_pieces_aria2c_wrote_are_read_as_byte_ranges() {
        let written = read(&bytes(INTERRUPTED)).unwrap();
        let mib = 1 << 20;
        let kib = 1 << 10;
        assert_eq!(written.total, 32 * mib);
        assert_eq!(
            written.done,
            [
                (0, 3 * mib + 33 * 16 * kib),
                (8 * mib, 11 * mib + 512 * kib),
                (16 * mib, 19 * mib + 512 * kib),
                (24 * mib, 27 * mib + 512 * kib)
            ]
        );
        // A record of pieces being written that does not fit (here the first names a piece
        // past the end) leaves them all missing whole.
        let mut wrong = bytes(INTERRUPTED);
        wrong[42..46].copy_from_slice(&0x0008_0000u32.to_be_bytes());
        let written = read(&wrong).unwrap();
        assert_eq!(written.done[0], (0, 3 * mib));
        assert_eq!(written.done[1], (8 * mib, 11 * mib));
        let mut length = bytes(INTERRUPTED);
        length[46..50].copy_from_slice(&0x0008_0000u32.to_be_bytes());
        assert_eq!(read(&length).unwrap().done[1], (8 * mib, 11 * mib));
        let cut = bytes(INTERRUPTED);
        assert_eq!(read(&cut[..40]).unwrap().done[0], (0, 3 * mib));
        // The writer's byte order (version 0), little-endian here; the last piece is short.
        let little = "0000 00000000 00000000 00001000 2830000000000000 0000000000000000 \
                      01000000 f0";
        let written = read(&bytes(little)).unwrap();
        assert_eq!(written.total, 0x3028);
        if cfg!(target_endian = "little") {
            assert_eq!(written.done, [(0, 0x3028)]);
        }
    }

    #[test]
    fn control_files_that_cannot_be_used_say_why() {
        let whole = bytes(INTERRUPTED);
        for (cut, why) in [(1, "ends too soon"), (36, "ends too soon")] {
            assert!(read(&whole[..cut]).unwrap_err().contains(why));
        }
        let mut torrent = whole.clone();
        torrent[9] = 20;
        assert!(read(&torrent).unwrap_err().contains("torrent"));
        let mut version = whole.clone();
        version[1] = 7;
        assert!(read(&version).unwrap_err().contains("version"));
        let mut field = whole.clone();
        field[33] = 5;
        assert!(read(&field).unwrap_err().contains("bitfield"));
        let mut zero = whole.clone();
        zero[10..14].fill(0);
        assert!(read(&zero).unwrap_err().contains("piece length is 0"));
        // A total as large as can be: more pieces than any bitfield there holds.
        let mut huge = whole;
        huge[10..14].copy_from_slice(&u32::MAX.to_be_bytes());
        huge[14..22].copy_from_slice(&u64::MAX.to_be_bytes());
        huge[30..34].copy_from_slice(
            &((u64::MAX.div_ceil(u64::from(u32::MAX))).div_ceil(8) as u32).to_be_bytes(),
        );
        assert!(
            read(&huge).is_err(),
            "a bitfield of that many pieces is not there"
        );
        // Every cut of the file, and every byte of it changed, is read or refused: no panic.
        let whole = bytes(INTERRUPTED);
        for cut in 0..whole.len() {
            let _ = read(&whole[..cut]);
            for value in [0, 1, 0x7f, 0xff] {
                let mut changed = whole.clone();
                changed[cut] = value;
                let _ = read(&changed);
            }
        }
    }
}
