//! Pickled values, as far as a state dict needs them, and the bookkeeping that bounds how deeply
//! they nest, so that no small file can make a value too deep to walk or free.
//!
//! A small file may not nest values without end (`None` in 200,000 one-tuples is 200 KB):
//! nesting is bounded by [`MAX_DEPTH`], and values are freed from a worklist, not by recursion.

use std::cell::{Cell, Ref, RefCell};
use std::rc::Rc;

/// Deepest nesting of tuples, lists and dictionaries accepted; a state dict nests three levels
/// (its `_metadata`: a dictionary of an OrderedDict of dictionaries). Nothing walks a value by
/// recursion (see `Drop for Value`), but if anything did, Rust's own recursive drop needs at
/// most 400 bytes a level in a debug build (measured on chains of tuples, lists and
/// dictionaries): 100 levels fit in 40 KiB, far inside the 2 MiB of a spawned thread's stack.
pub(super) const MAX_DEPTH: u32 = 100;

/// A pickled value, as far as a PyTorch state dict needs them.
///
/// Every chain of values inside values is at most [`MAX_DEPTH`] deep. The one cycle a pickle
/// can make is a list or dictionary that holds itself: containers may not grow deeper once
/// nested (see [`Container`]), so a longer cycle cannot close.
#[derive(Clone)]
pub(crate) enum Value {
    Mark,
    None,
    Bool(bool),
    Int(i64),
    /// A float; its value plays no part in a state dict.
    Float,
    Str(Rc<str>),
    Tuple {
        items: Rc<[Value]>,
        /// 1 + the depth of its deepest item.
        depth: u32,
    },
    List(Rc<Container<Vec<Value>>>),
    Dict(Rc<Container<Vec<(Value, Value)>>>),
    Global(Global),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRef>),
}

impl Value {
    /// A short name of the value's kind, for errors (never the value: it may be cyclic).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Mark => "mark",
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float => "float",
            Value::Str(_) => "str",
            Value::Tuple { .. } => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Global(_) => "class",
            Value::Storage(_) => "storage",
            Value::Tensor(_) => "tensor",
        }
    }

    /// Levels of tuples, lists and dictionaries: 0 for anything else, 1 for an empty tuple.
    fn depth(&self) -> u32 {
        match self {
            Value::Tuple { depth, .. } => *depth,
            Value::List(list) => list.depth.get(),
            Value::Dict(dict) => dict.depth.get(),
            _ => 0,
        }
    }

    /// Moves out the items of a tuple, list or dictionary that nothing else refers to, so that
    /// dropping the value itself frees nothing nested.
    fn release_items(&mut self, out: &mut Vec<Value>) {
        match self {
            Value::Tuple { items, .. } => {
                if let Some(items) = Rc::get_mut(items) {
                    out.extend(
                        items
                            .iter_mut()
                            .map(|item| std::mem::replace(item, Value::None)),
                    );
                }
            }
            // A weak reference would leave `Rc::get_mut` empty-handed; the count of strong ones
            // says whether this is the last owner.
            Value::List(list) if Rc::strong_count(list) == 1 => {
                if let Ok(mut items) = list.items.try_borrow_mut() {
                    out.append(&mut items);
                }
            }
            Value::Dict(dict) if Rc::strong_count(dict) == 1 => {
                if let Ok(mut items) = dict.items.try_borrow_mut() {
                    for (key, value) in items.drain(..) {
                        out.push(key);
                        out.push(value);
                    }
                }
            }
            _ => {}
        }
    }
}

impl Drop for Value {
    /// Frees nested values from a worklist: the drop glue of `Rc<[Value]>` and `Vec<Value>`
    /// recurses once per level, which [`MAX_DEPTH`] bounds, but freeing should not depend on
    /// every way of building a value being counted right.
    fn drop(&mut self) {
        let mut orphans = Vec::new();
        self.release_items(&mut orphans);
        while let Some(mut value) = orphans.pop() {
            value.release_items(&mut orphans);
            // `value` drops here with its items moved out: one level of drop glue.
        }
    }
}

/// A list's or dictionary's items, shared by every reference to it, and its nesting.
pub(crate) struct Container<T> {
    items: RefCell<T>,
    /// 1 + the depth of its deepest item, itself left out.
    depth: Cell<u32>,
    /// Set once the container is put inside another value. That value's depth was counted
    /// from the container's, so from then on the container may not grow deeper: filling it
    /// afterwards through the memo could otherwise chain containers past [`MAX_DEPTH`]
    /// unnoticed. A pickler fills each container before it nests it.
    nested: Cell<bool>,
}

impl<T: Default> Container<T> {
    pub(super) fn new() -> Rc<Self> {
        Rc::new(Container {
            items: RefCell::new(T::default()),
            depth: Cell::new(1),
            nested: Cell::new(false),
        })
    }
}

impl<T> Container<T> {
    /// The items, for reading.
    pub(crate) fn items(&self) -> Ref<'_, T> {
        self.items.borrow()
    }

    /// Adds `items` (flat: a dictionary's keys and values alternate) with `extend`, refusing
    /// a nested container's growth past its depth and any growth past [`MAX_DEPTH`].
    pub(super) fn add(
        &self,
        items: Vec<Value>,
        kind: &str,
        extend: impl FnOnce(&mut T, Vec<Value>),
    ) -> Result<(), String> {
        let this: *const () = (self as *const Self).cast();
        let depth = depth_of(&items, this)?.max(self.depth.get());
        if depth > self.depth.get() {
            if self.nested.get() {
                return Err(format!(
                    "a {kind} grows deeper after it was put inside another object"
                ));
            }
            self.depth.set(depth);
        }
        mark_nested(&items);
        extend(&mut self.items.borrow_mut(), items);
        Ok(())
    }
}

impl<T> Container<Vec<T>> {
    /// Empties the container, breaking any cycle through it (see [`read`](super::pickle::read)).
    pub(super) fn clear(&self) {
        self.items.borrow_mut().clear();
    }
}

/// 1 + the depth of the deepest of `items`, refused past [`MAX_DEPTH`]. The container at
/// `within` (null for a new tuple) is left out: holding itself makes it a cycle, not deeper.
fn depth_of(items: &[Value], within: *const ()) -> Result<u32, String> {
    let mut depth = 1;
    for item in items {
        let address: *const () = match item {
            Value::List(list) => Rc::as_ptr(list).cast(),
            Value::Dict(dict) => Rc::as_ptr(dict).cast(),
            _ => std::ptr::null(),
        };
        if within.is_null() || address != within {
            depth = depth.max(item.depth() + 1);
        }
    }
    if depth > MAX_DEPTH {
        return Err(format!("the pickle nests deeper than {MAX_DEPTH} levels"));
    }
    Ok(depth)
}

/// Marks the lists and dictionaries among `items` as put inside another value.
fn mark_nested(items: &[Value]) {
    for item in items {
        match item {
            Value::List(list) => list.nested.set(true),
            Value::Dict(dict) => dict.nested.set(true),
            _ => {}
        }
    }
}

/// A tuple of `items`, refused if it would nest deeper than [`MAX_DEPTH`].
pub(super) fn tuple(items: Vec<Value>) -> Result<Value, String> {
    let depth = depth_of(&items, std::ptr::null())?;
    mark_nested(&items);
    Ok(Value::Tuple {
        items: Rc::from(items),
        depth,
    })
}

/// The classes a state dict may name.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Global {
    OrderedDict,
    RebuildTensorV2,
    /// `torch.<Kind>Storage`, e.g. `FloatStorage`.
    StorageType(String),
}

/// A storage a tensor refers to by persistent id.
#[derive(Debug, PartialEq)]
pub(crate) struct StorageRef {
    /// The storage class, e.g. `FloatStorage`.
    pub class: String,
    /// The key under which the storage's bytes are saved.
    pub key: String,
    /// Number of elements.
    pub numel: usize,
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it.
#[derive(Debug, PartialEq)]
pub(crate) struct TensorRef {
    pub storage: Rc<StorageRef>,
    pub offset: usize,
    pub size: Vec<usize>,
    pub stride: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_deeper_than_the_reader_allows_is_freed_without_recursion() {
        // Built directly, a million levels of each kind: freeing must not rely on the bound.
        std::thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(|| {
                for kind in ["tuple", "list", "dict"] {
                    let mut value = Value::None;
                    for _ in 0..1_000_000 {
                        value = match kind {
                            "tuple" => Value::Tuple {
                                items: Rc::from(vec![value]),
                                depth: 0,
                            },
                            "list" => {
                                let list = Container::<Vec<Value>>::new();
                                list.items.borrow_mut().push(value);
                                Value::List(list)
                            }
                            _ => {
                                let dict = Container::<Vec<(Value, Value)>>::new();
                                dict.items.borrow_mut().push((Value::None, value));
                                Value::Dict(dict)
                            }
                        };
                    }
                    drop(value);
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
