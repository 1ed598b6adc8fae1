//! A pickle reader that only *describes*: it rebuilds tensors' metadata and ordered dictionaries
//! from the opcodes `torch.save` writes, refuses every other class by name, and never executes
//! anything.
//!
//! candle's `pickle::Stack` is not used on untrusted bytes here: it allocates a string's
//! declared length before reading it, overflows a shift on 10-byte longs (the legacy magic
//! number is one), and clones memoized objects, so a small file can ask for unbounded memory.
//! This reader checks every length against the bytes left and shares memoized objects.
//!
//! The values it builds, and the bound on how deeply they nest, are [`super::value`]'s.

use std::collections::HashMap;
use std::rc::Rc;

use super::value::{Container, Global, StorageRef, TensorRef, Value, tuple};

/// Most objects the stack may hold at once; far above what any state dict needs.
const MAX_STACK: usize = 1 << 20;

/// Most lists and dictionaries one pickle may create: a state dict needs two or three per tensor.
/// The bound keeps the memo's cleanup in [`read`] short; how deeply they nest is
/// [`MAX_DEPTH`](super::value::MAX_DEPTH)'s.
const MAX_CONTAINERS: usize = 1 << 13;

/// Reads one pickle from `bytes` starting at `*pos`, leaving `*pos` after its STOP opcode, and
/// hands the value to `extract`, which must copy out what it needs. Errors say what is wrong and
/// at which byte.
///
/// A pickle can make a dictionary that contains itself (through its memo); such cycles of
/// reference-counted values would never be freed, so every memoized list and dictionary is
/// emptied once `extract` has run.
pub(crate) fn read<T>(
    bytes: &[u8],
    pos: &mut usize,
    extract: impl FnOnce(Value) -> Result<T, String>,
) -> Result<T, String> {
    let mut machine = Machine {
        bytes,
        pos,
        stack: Vec::new(),
        memo: HashMap::new(),
        containers: 0,
    };
    let result = machine.run().and_then(extract);
    for value in machine.memo.values().chain(&machine.stack) {
        match value {
            Value::Dict(dict) => dict.clear(),
            Value::List(list) => list.clear(),
            _ => {}
        }
    }
    result
}

struct Machine<'a, 'p> {
    bytes: &'a [u8],
    pos: &'p mut usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
    containers: usize,
}

impl Machine<'_, '_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let start = *self.pos;
        let end = start
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "truncated: byte {start} needs {n} more bytes, {} are left",
                    self.bytes.len() - start
                )
            })?;
        *self.pos = end;
        Ok(&self.bytes[start..end])
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.bytes[*self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated: a class name has no end")?;
        let text = std::str::from_utf8(&rest[..end])
            .map_err(|_| "a class name is not UTF-8")?
            .to_string();
        *self.pos += end + 1;
        Ok(text)
    }

    fn push(&mut self, value: Value) -> Result<(), String> {
        if self.stack.len() >= MAX_STACK {
            return Err(format!("more than {MAX_STACK} objects on the pickle stack"));
        }
        self.stack.push(value);
        Ok(())
    }

    /// Counts a new list or dictionary against [`MAX_CONTAINERS`].
    fn new_container(&mut self) -> Result<(), String> {
        self.containers += 1;
        if self.containers > MAX_CONTAINERS {
            return Err(format!(
                "more than {MAX_CONTAINERS} lists and dictionaries in one pickle"
            ));
        }
        Ok(())
    }

    fn pop(&mut self) -> Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| "pickle stack underflow".to_string())
    }

    fn pop_to_mark(&mut self) -> Result<Vec<Value>, String> {
        let mark = self
            .stack
            .iter()
            .rposition(|v| matches!(v, Value::Mark))
            .ok_or("no MARK on the pickle stack")?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top(&mut self) -> Result<&Value, String> {
        self.stack
            .last()
            .ok_or_else(|| "pickle stack underflow".to_string())
    }

    fn run(&mut self) -> Result<Value, String> {
        loop {
            let at = *self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO: the protocol number does not change how the ops read.
                }
                b'.' => return self.pop(),
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(i64::from(v)))?
                }
                b'M' => {
                    let b = self.take(2)?;
                    let v = u16::from_le_bytes([b[0], b[1]]);
                    self.push(Value::Int(i64::from(v)))?
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(i64::from(v)))?
                }
                0x8a => {
                    let n = usize::from(self.u8()?);
                    if n > 8 {
                        return Err(format!(
                            "byte {at}: a {n}-byte integer does not fit in 64 bits"
                        ));
                    }
                    let b = self.take(n)?;
                    let mut buf = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                        [0xff; 8]
                    } else {
                        [0; 8]
                    };
                    buf[..n].copy_from_slice(b);
                    self.push(Value::Int(i64::from_le_bytes(buf)))?
                }
                b'G' => {
                    self.take(8)?;
                    self.push(Value::Float)?
                }
                b'X' | 0x8c => {
                    let len = if op == b'X' {
                        self.u32()? as usize
                    } else {
                        usize::from(self.u8()?)
                    };
                    let text = std::str::from_utf8(self.take(len)?)
                        .map_err(|_| format!("byte {at}: a string is not UTF-8"))?;
                    let text: Rc<str> = Rc::from(text);
                    self.push(Value::Str(text))?
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'(' => self.push(Value::Mark)?,
                b')' => self.push(tuple(Vec::new())?)?,
                b't' => {
                    let items = self.pop_to_mark()?;
                    self.push(tuple(items).map_err(|e| format!("byte {at}: {e}"))?)?
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return Err(format!(
                            "byte {at}: TUPLE{n} on a stack of {}",
                            self.stack.len()
                        ));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(tuple(items).map_err(|e| format!("byte {at}: {e}"))?)?
                }
                b']' => {
                    self.new_container()?;
                    self.push(Value::List(Container::new()))?
                }
                b'a' | b'e' => {
                    let items = if op == b'a' {
                        vec![self.pop()?]
                    } else {
                        self.pop_to_mark()?
                    };
                    match self.top()? {
                        Value::List(list) => list
                            .add(items, "list", |list, items| list.extend(items))
                            .map_err(|e| format!("byte {at}: {e}"))?,
                        other => return Err(format!("byte {at}: APPEND to a {}", other.kind())),
                    }
                }
                b'}' => {
                    self.new_container()?;
                    self.push(Value::Dict(Container::new()))?
                }
                b's' | b'u' => {
                    let items = if op == b's' {
                        let value = self.pop()?;
                        vec![self.pop()?, value]
                    } else {
                        self.pop_to_mark()?
                    };
                    if items.len() % 2 != 0 {
                        return Err(format!("byte {at}: SETITEMS with an odd number of objects"));
                    }
                    let pairs = |dict: &mut Vec<(Value, Value)>, items: Vec<Value>| {
                        let mut items = items.into_iter();
                        while let (Some(key), Some(value)) = (items.next(), items.next()) {
                            dict.push((key, value));
                        }
                    };
                    match self.top()? {
                        Value::Dict(dict) => dict
                            .add(items, "dictionary", pairs)
                            .map_err(|e| format!("byte {at}: {e}"))?,
                        other => return Err(format!("byte {at}: SETITEM on a {}", other.kind())),
                    }
                }
                b'q' | b'r' => {
                    let id = if op == b'q' {
                        u32::from(self.u8()?)
                    } else {
                        self.u32()?
                    };
                    let value = self.top()?.clone();
                    self.memo.insert(id, value);
                }
                b'h' | b'j' => {
                    let id = if op == b'h' {
                        u32::from(self.u8()?)
                    } else {
                        self.u32()?
                    };
                    let value = self
                        .memo
                        .get(&id)
                        .cloned()
                        .ok_or_else(|| format!("byte {at}: memo {id} is empty"))?;
                    self.push(value)?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let global = match (module.as_str(), name.as_str()) {
                        ("collections", "OrderedDict") => Global::OrderedDict,
                        ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
                        ("torch", storage) if storage.ends_with("Storage") => {
                            Global::StorageType(storage.to_string())
                        }
                        _ => {
                            return Err(format!(
                                "refused pickled object {module}.{name}: only tensors and ordered dictionaries are accepted"
                            ));
                        }
                    };
                    self.push(Value::Global(global))?
                }
                b'Q' => {
                    let id = self.pop()?;
                    let storage = storage_ref(&id).map_err(|e| format!("byte {at}: {e}"))?;
                    self.push(Value::Storage(Rc::new(storage)))?
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let value = match (&callable, &args) {
                        (Value::Global(Global::OrderedDict), Value::Tuple { items, .. })
                            if items.is_empty() =>
                        {
                            self.new_container()?;
                            Value::Dict(Container::new())
                        }
                        (Value::Global(Global::RebuildTensorV2), Value::Tuple { items, .. }) => {
                            Value::Tensor(Rc::new(
                                tensor_ref(items).map_err(|e| format!("byte {at}: {e}"))?,
                            ))
                        }
                        _ => {
                            return Err(format!(
                                "byte {at}: refused call of a {} with a {}: only OrderedDict() and _rebuild_tensor_v2 are accepted",
                                callable.kind(),
                                args.kind()
                            ));
                        }
                    };
                    self.push(value)?
                }
                b'b' => {
                    // BUILD sets attributes; a state dict's only one is `_metadata` (layer
                    // versions), which a plain tensor map does not need.
                    let state = self.pop()?;
                    match (self.top()?, &state) {
                        (Value::Dict(_), Value::Dict(_)) => {}
                        (target, _) => {
                            return Err(format!(
                                "byte {at}: BUILD of a {} with a {}",
                                target.kind(),
                                state.kind()
                            ));
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "byte {at}: unsupported pickle opcode 0x{other:02x}"
                    ));
                }
            }
        }
    }
}

fn int(value: &Value, what: &str) -> Result<usize, String> {
    match value {
        Value::Int(v) => usize::try_from(*v).map_err(|_| format!("{what} is negative: {v}")),
        other => Err(format!("{what} is a {}, expected an int", other.kind())),
    }
}

fn ints(value: &Value, what: &str) -> Result<Vec<usize>, String> {
    match value {
        Value::Tuple { items, .. } => items.iter().map(|v| int(v, what)).collect(),
        other => Err(format!("{what} is a {}, expected a tuple", other.kind())),
    }
}

/// `('storage', torch.FloatStorage, key, location, numel[, view_metadata])`.
fn storage_ref(id: &Value) -> Result<StorageRef, String> {
    let Value::Tuple { items, .. } = id else {
        return Err(format!(
            "a persistent id is a {}, expected a tuple",
            id.kind()
        ));
    };
    match &items[..] {
        [
            Value::Str(tag),
            Value::Global(Global::StorageType(class)),
            Value::Str(key),
            Value::Str(_),
            numel,
            rest @ ..,
        ] if &**tag == "storage"
            && rest.iter().all(|v| matches!(v, Value::None))
            && rest.len() <= 1 =>
        {
            Ok(StorageRef {
                class: class.clone(),
                key: key.to_string(),
                numel: int(numel, "a storage size")?,
            })
        }
        _ => Err("a persistent id is not ('storage', <type>, key, location, size)".into()),
    }
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])`.
fn tensor_ref(args: &[Value]) -> Result<TensorRef, String> {
    match args {
        [Value::Storage(storage), offset, size, stride, Value::Bool(_), Value::Dict(_), rest @ ..] if rest.len() <= 1 => {
            let size = ints(size, "a tensor size")?;
            let stride = ints(stride, "a tensor stride")?;
            if size.len() != stride.len() {
                return Err(format!("a tensor of {} dimensions has {} strides", size.len(), stride.len()));
            }
            Ok(TensorRef { storage: storage.clone(), offset: int(offset, "a tensor offset")?, size, stride })
        }
        _ => Err("_rebuild_tensor_v2 called with other arguments than a storage, offset, size, stride, flag and hooks".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::value::MAX_DEPTH;
    use super::*;

    #[test]
    fn a_dictionary_that_contains_itself_is_freed() {
        // EMPTY_DICT, BINPUT 0, MARK, 'a', BINGET 0, SETITEMS, STOP: d = {}; d['a'] = d.
        let bytes = [b'}', b'q', 0, b'(', 0x8c, 1, b'a', b'h', 0, b'u', b'.'];
        let weak = read(&bytes, &mut 0, |value| match &value {
            Value::Dict(dict) => Ok(Rc::downgrade(dict)),
            other => Err(other.kind().to_string()),
        })
        .unwrap();
        assert!(
            weak.upgrade().is_none(),
            "the cycle kept the dictionary alive"
        );
    }

    /// Reads `bytes` on a thread with a 256 KiB stack, an eighth of a spawned thread's default:
    /// a recursion over a deep value would overflow it and abort the whole test binary.
    fn read_on_a_small_stack(bytes: Vec<u8>) -> Result<(), String> {
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || read(&bytes, &mut 0, |_| Ok(())))
            .unwrap()
            .join()
            .unwrap()
    }

    /// `None` wrapped in `depth` one-tuples (TUPLE1), as in the crafted file of issue 26.
    fn one_tuples(depth: usize) -> Vec<u8> {
        let mut bytes = b"\x80\x02N".to_vec();
        bytes.extend(std::iter::repeat_n(0x85, depth));
        bytes.push(b'.');
        bytes
    }

    #[test]
    fn a_deep_chain_of_one_tuples_is_refused_on_a_small_stack() {
        for depth in [200_000, 1_000_000] {
            let err = read_on_a_small_stack(one_tuples(depth)).unwrap_err();
            assert!(err.contains(&format!("deeper than {MAX_DEPTH}")), "{err}");
        }
    }

    #[test]
    fn nesting_up_to_the_bound_reads_and_one_more_level_is_refused() {
        read_on_a_small_stack(one_tuples(MAX_DEPTH as usize)).unwrap();
        let err = read_on_a_small_stack(one_tuples(MAX_DEPTH as usize + 1)).unwrap_err();
        assert!(err.contains(&format!("deeper than {MAX_DEPTH}")), "{err}");
    }

    #[test]
    fn deep_chains_of_marked_tuples_lists_and_dicts_are_refused_on_a_small_stack() {
        let n = MAX_CONTAINERS;
        // MARK x n, None, TUPLE x n: ((...(None,)...),).
        let mut marked = vec![b'('; 200_000];
        marked.push(b'N');
        marked.extend(std::iter::repeat_n(b't', 200_000));
        // EMPTY_LIST x n, APPEND x (n - 1): each list appended to the one before it.
        let mut lists = vec![b']'; n];
        lists.extend(std::iter::repeat_n(b'a', n - 1));
        // (EMPTY_DICT, None) x (n - 1), EMPTY_DICT, SETITEM x (n - 1): {None: {None: ...}}.
        let mut dicts = b"}N".repeat(n - 1);
        dicts.push(b'}');
        dicts.extend(std::iter::repeat_n(b's', n - 1));
        // EMPTY_LIST x n, then (TUPLE1, APPEND) x (n - 1): lists and one-tuples alternate.
        let mut mixed = vec![b']'; n];
        mixed.extend(b"\x85a".repeat(n - 1));
        for (what, mut bytes) in [
            ("marked tuples", marked),
            ("lists", lists),
            ("dicts", dicts),
            ("lists in tuples", mixed),
        ] {
            bytes.push(b'.');
            let err = read_on_a_small_stack(bytes).unwrap_err();
            assert!(
                err.contains(&format!("deeper than {MAX_DEPTH}")),
                "{what}: {err}"
            );
        }
    }

    #[test]
    fn a_list_that_grows_after_it_was_nested_is_refused() {
        // A chain of lists, each appended to the one before it while still empty and filled
        // afterwards through the memo: every list is shallow when it is nested, yet the chain
        // would end up n deep, past the bound unnoticed. EMPTY_LIST, then n times: EMPTY_LIST,
        // LONG_BINPUT i, APPEND, LONG_BINGET i. The second list's growth is refused.
        let n = MAX_CONTAINERS as u32 - 1;
        let mut bytes = vec![b']'];
        for i in 0..n {
            bytes.extend_from_slice(b"]r");
            bytes.extend_from_slice(&i.to_le_bytes());
            bytes.extend_from_slice(b"aj");
            bytes.extend_from_slice(&i.to_le_bytes());
        }
        bytes.push(b'.');
        let err = read_on_a_small_stack(bytes).unwrap_err();
        assert!(err.contains("after it was put inside"), "{err}");
    }

    #[test]
    fn too_many_containers_are_refused() {
        let mut bytes = vec![b']'; MAX_CONTAINERS + 1];
        bytes.push(b'.');
        let err = read(&bytes, &mut 0, |_| Ok(())).unwrap_err();
        assert!(err.contains("lists and dictionaries"), "{err}");
    }
}
