//! Model weights read tensor by tensor from a safetensors file.
//!
//! Hand-written because no crate does it without `unsafe`: candle's `safetensors::load` reads
//! the whole file and then copies every tensor out of it, so loading holds the weights twice
//! (the 90 MB embedding model peaked at 180 MB during a 1M-event ingest); memory-mapping the
//! file avoids the copy but needs `unsafe`, which this crate forbids. Here only the header is
//! parsed up front, and each tensor's bytes are read when the model asks for it, F32 ones
//! straight into the tensor's buffer (others through one copy). A large table can also be read
//! by rows (`read_rows`: the embedding model's word pieces, see `bert`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Mutex;

use candle_core::{DType, Device, Error, Result, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use serde::Deserialize;

/// A header larger than this is not a model we ship (safetensors itself caps it at 100 MB).
const MAX_HEADER: u64 = 100 * 1024 * 1024;

#[derive(Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (u64, u64),
}

struct Entry {
    dtype: DType,
    shape: Vec<usize>,
    /// Absolute byte range in the file.
    range: (u64, u64),
}

/// A safetensors file whose tensors are read on demand (a `VarBuilder` backend).
pub struct LazySafetensors {
    file: Mutex<File>,
    entries: HashMap<String, Entry>,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Msg(format!("{}: {why}", path.display()))
}

fn dtype_of(name: &str) -> Option<DType> {
    Some(match name {
        "U8" => DType::U8,
        "U32" => DType::U32,
        "I64" => DType::I64,
        "BF16" => DType::BF16,
        "F16" => DType::F16,
        "F32" => DType::F32,
        "F64" => DType::F64,
        _ => return None,
    })
}

impl LazySafetensors {
    /// Read and check the header: every tensor's dtype, shape and byte range.
    pub fn open(path: &Path) -> Result<LazySafetensors> {
        let mut file = File::open(path).map_err(|e| bad(path, e))?;
        let file_len = file.metadata().map_err(|e| bad(path, e))?.len();
        let mut len = [0u8; 8];
        file.read_exact(&mut len).map_err(|e| bad(path, e))?;
        let header_len = u64::from_le_bytes(len);
        if header_len > MAX_HEADER || 8 + header_len > file_len {
            return Err(bad(path, "not a safetensors file (header length)"));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header).map_err(|e| bad(path, e))?;
        let raw: HashMap<String, serde_json::Value> =
            serde_json::from_slice(&header).map_err(|e| bad(path, e))?;
        let data_start = 8 + header_len;
        let mut entries = HashMap::new();
        for (name, value) in raw {
            if name == "__metadata__" {
                continue;
            }
            let h: HeaderEntry = serde_json::from_value(value).map_err(|e| bad(path, e))?;
            let dtype = dtype_of(&h.dtype)
                .ok_or_else(|| bad(path, format!("{name}: unsupported dtype {}", h.dtype)))?;
            let (start, end) = h.data_offsets;
            let expected = h.shape.iter().product::<usize>() as u64 * dtype.size_in_bytes() as u64;
            if end < start || end - start != expected || data_start + end > file_len {
                return Err(bad(path, format!("{name}: byte range does not fit")));
            }
            let range = (data_start + start, data_start + end);
            entries.insert(
                name,
                Entry {
                    dtype,
                    shape: h.shape,
                    range,
                },
            );
        }
        Ok(LazySafetensors {
            file: Mutex::new(file),
            entries,
        })
    }

    fn entry(&self, name: &str) -> Result<&Entry> {
        self.entries
            .get(name)
            .ok_or_else(|| Error::CannotFindTensor { path: name.into() }.bt())
    }

    fn read(&self, name: &str, dtype: DType, dev: &Device) -> Result<Tensor> {
        let entry = self.entry(name)?;
        let len = (entry.range.1 - entry.range.0) as usize;
        if entry.dtype == DType::F32 {
            // Read straight into the tensor's own buffer: the embedding model's largest tensor
            // would otherwise be held twice while it is copied.
            let mut values = vec![0f32; len / 4];
            read_f32_at(&mut *self.lock()?, entry.range.0, &mut values)?;
            return Tensor::from_vec(values, entry.shape.as_slice(), dev)?.to_dtype(dtype);
        }
        let mut bytes = vec![0u8; len];
        read_at(&mut *self.lock()?, entry.range.0, &mut bytes)?;
        Tensor::from_raw_buffer(&bytes, entry.dtype, &entry.shape, dev)?.to_dtype(dtype)
    }

    /// The 2-D F32 tensor `name` as (entry, rows, width), for callers that read it by rows.
    fn table(&self, name: &str) -> Result<(&Entry, usize, usize)> {
        let entry = self.entry(name)?;
        match (entry.dtype, entry.shape.as_slice()) {
            (DType::F32, &[rows, width]) => Ok((entry, rows, width)),
            _ => Err(Error::Msg(format!(
                "{name}: not a 2-D F32 table ({:?} {:?})",
                entry.dtype, entry.shape
            ))),
        }
    }

    /// The (rows, width) of the 2-D F32 table `name`.
    pub fn table_shape(&self, name: &str) -> Result<(usize, usize)> {
        self.table(name).map(|(_, rows, width)| (rows, width))
    }

    /// Rows `ids` of the 2-D F32 table `name`, in order, one read each.
    pub fn read_rows(&self, name: &str, ids: &[u32]) -> Result<Vec<f32>> {
        let (entry, rows, width) = self.table(name)?;
        let mut out = vec![0f32; ids.len() * width];
        let mut file = self.lock()?;
        for (row, &id) in out.chunks_mut(width.max(1)).zip(ids) {
            if id as usize >= rows {
                return Err(Error::Msg(format!("{name}: row {id} of {rows}")));
            }
            read_f32_at(
                &mut file,
                entry.range.0 + u64::from(id) * width as u64 * 4,
                row,
            )?;
        }
        Ok(out)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, File>> {
        self.file
            .lock()
            .map_err(|_| Error::Msg("weights file lock poisoned".into()))
    }
}

/// Little-endian floats at `offset` (safetensors is little-endian on every host).
fn read_f32_at(file: &mut File, offset: u64, out: &mut [f32]) -> Result<()> {
    read_at(file, offset, bytemuck::cast_slice_mut(out))?;
    if cfg!(target_endian = "big") {
        for v in out.iter_mut() {
            *v = f32::from_bits(u32::from_le(v.to_bits()));
        }
    }
    Ok(())
}

fn read_at(file: &mut File, offset: u64, out: &mut [u8]) -> Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(out)?;
    Ok(())
}

impl SimpleBackend for LazySafetensors {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> Result<Tensor> {
        let tensor = self.read(name, dtype, dev)?;
        if tensor.shape() != &s {
            return Err(Error::UnexpectedShape {
                msg: format!("shape mismatch for {name}"),
                expected: s,
                got: tensor.shape().clone(),
            }
            .bt());
        }
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> Result<Tensor> {
        self.read(name, dtype, dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same tensors as candle's whole-file loader, from a file candle wrote.
    #[test]
    fn reads_what_candle_wrote_and_refuses_a_truncated_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.safetensors");
        let dev = Device::Cpu;
        let a = Tensor::arange(0f32, 12f32, &dev)
            .and_then(|t| t.reshape((3, 4)))
            .expect("a");
        let b = Tensor::new(&[7i64, 8, 9], &dev).expect("b");
        let tensors: HashMap<String, Tensor> =
            [("layer.a".to_string(), a.clone()), ("b".to_string(), b)].into();
        candle_core::safetensors::save(&tensors, &path).expect("save");
        let lazy = LazySafetensors::open(&path).expect("open");
        assert!(lazy.contains_tensor("layer.a") && !lazy.contains_tensor("nope"));
        let got = lazy
            .get(
                (3, 4).into(),
                "layer.a",
                candle_nn::Init::Const(0.),
                DType::F32,
                &dev,
            )
            .expect("get");
        let diff = (got - a)
            .and_then(|d| d.abs())
            .and_then(|d| d.sum_all())
            .and_then(|d| d.to_scalar::<f32>())
            .expect("diff");
        assert_eq!(diff, 0.0);
        assert!(
            lazy.get(
                (4, 3).into(),
                "layer.a",
                candle_nn::Init::Const(0.),
                DType::F32,
                &dev
            )
            .is_err(),
            "shape checked"
        );
        let b = lazy.get_unchecked("b", DType::I64, &dev).expect("b");
        assert_eq!(b.to_vec1::<i64>().expect("vec"), [7, 8, 9]);

        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..bytes.len() - 4]).expect("truncate");
        assert!(LazySafetensors::open(&path).is_err());
    }
}
