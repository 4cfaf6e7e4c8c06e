//! The Python face of the parser, and the only module that uses pyo3: `RequestParser(config)`
//! and its `feed(data) -> list`, which turns `parser::Event`s into the tuples, bytes, `None`s
//! and exceptions of the contract in python/wirespeed/parser.py.
//!
//! One call per buffer; per request it builds one tuple, the target string, one list and one
//! `(name, value)` tuple per field. Common methods and field names are cached Python objects,
//! so a typical request creates no string for them. And since a keep-alive client repeats most
//! of its fields request after request, each parser keeps the previous request's field tuples
//! and target (`Recent`): a field sent again, same name and value at the same position, reuses
//! the immutable tuple instead of building a new one.

use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PyString, PyTuple, PyType};
use pyo3::{PyTraverseError, PyVisit};

use crate::error::ParseError;
use crate::field_names::FieldName;
use crate::head::Head;
use crate::limits::Limits;
use crate::parser::{Event, Parser};

/// Parses one connection's requests. See `wirespeed.parser` for the event contract.
#[pyclass(module = "wirespeed._parser")]
pub struct RequestParser {
    parser: Parser,
    recent: Recent,
    /// When set, requests are instances of this tuple subclass with `owner` as a 7th item,
    /// so the server gets its request objects with no Python call per request.
    request_type: Option<RequestType>,
}

/// A tuple subclass to build requests as, and what goes in their last item.
struct RequestType {
    class: Py<PyType>,
    alloc: ffi::allocfunc,
    owner: Py<PyAny>,
}

#[pymethods]
impl RequestParser {
    /// Reads `max_head_size`, `max_headers`, `max_target_length`, `max_body_size`,
    /// `inline_body_size` and (if present) `max_requests_per_connection` from `config` (a
    /// `wirespeed.config.Config`).
    ///
    /// With `request_type` (a subclass of tuple) requests are made as instances of it holding
    /// the six fields and then `owner`.
    #[new]
    #[pyo3(signature = (config, request_type = None, owner = None))]
    fn new(
        config: &Bound<'_, PyAny>,
        request_type: Option<Bound<'_, PyType>>,
        owner: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let limits = Limits {
            max_head_size: config.getattr("max_head_size")?.extract()?,
            max_headers: config.getattr("max_headers")?.extract()?,
            max_target_length: config.getattr("max_target_length")?.extract()?,
            max_body_size: config.getattr("max_body_size")?.extract()?,
            inline_body_size: config.getattr("inline_body_size")?.extract()?,
        };
        let max_requests: u64 = match config.getattr("max_requests_per_connection") {
            Ok(value) => value.extract()?,
            Err(_) => 0,
        };
        let request_type = match request_type {
            None => None,
            Some(class) => {
                if !class.is_subclass_of::<PyTuple>()? {
                    return Err(PyTypeError::new_err("request_type must be a subclass of tuple"));
                }
                // SAFETY: `class` is a live type object; PyType_GetSlot returns its tp_alloc
                // (every type has one: a tuple subclass inherits PyType_GenericAlloc).
                let slot = unsafe { ffi::PyType_GetSlot(class.as_ptr().cast(), ffi::Py_tp_alloc) };
                if slot.is_null() {
                    return Err(PyTypeError::new_err("request_type has no tp_alloc"));
                }
                // SAFETY: the Py_tp_alloc slot holds an allocfunc.
                let alloc = unsafe { std::mem::transmute::<*mut std::ffi::c_void, ffi::allocfunc>(slot) };
                let owner = owner.map_or_else(|| config.py().None(), Bound::unbind);
                Some(RequestType { class: class.unbind(), alloc, owner })
            }
        };
        let mut parser = Parser::new(limits);
        parser.set_max_requests(max_requests);
        Ok(RequestParser { parser, recent: Recent::default(), request_type })
    }

    // The parser holds its owner (the connection), which holds the parser: let the garbage
    // collector see that cycle.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(request_type) = &self.request_type {
            visit.call(&request_type.class)?;
            visit.call(&request_type.owner)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.request_type = None;
    }

    /// Every event that `data` completes, in order.
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
        let events = PyList::empty(py);
        let mut failure: Option<PyErr> = None;
        let cache = Cache::get(py);
        let recent = &mut self.recent;
        let request_type = self.request_type.as_ref();
        self.parser.feed(data, &mut |event| {
            if failure.is_some() {
                return;
            }
            let converted = match event {
                Event::Request { head, body } => request(py, cache, recent, request_type, &head, body),
                Event::BodyChunk(data) => Ok(PyBytes::new(py, data).into_any()),
                Event::BodyEnd => Ok(py.None().into_bound(py)),
                Event::Error(error) => parse_error(py, error),
            };
            if let Err(err) = converted.and_then(|item| events.append(item)) {
                failure = Some(err);
            }
        });
        match failure {
            Some(err) => Err(err),
            None => Ok(events),
        }
    }

    /// Requests reported so far.
    #[getter]
    fn requests(&self) -> u64 {
        self.parser.requests()
    }

    /// Whether bytes of a request not yet reported are held (see `Parser`).
    #[getter]
    fn holding(&self) -> bool {
        self.parser.holds_partial_request()
    }

    /// The limits this parser enforces, as a dict (for debugging and tests).
    #[getter]
    fn limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let limits = self.parser.limits();
        let dict = pyo3::types::PyDict::new(py);
        dict.set_item("max_head_size", limits.max_head_size)?;
        dict.set_item("max_headers", limits.max_headers)?;
        dict.set_item("max_target_length", limits.max_target_length)?;
        dict.set_item("max_body_size", limits.max_body_size)?;
        dict.set_item("inline_body_size", limits.inline_body_size)?;
        Ok(dict)
    }
}

/// `(method, target, version, headers, keep_alive, body)`, or that and the owner as an
/// instance of the request type.
fn request<'py>(
    py: Python<'py>,
    cache: &Cache,
    recent: &mut Recent,
    request_type: Option<&RequestType>,
    head: &Head<'_, '_>,
    body: Option<&[u8]>,
) -> PyResult<Bound<'py, PyAny>> {
    let method = match cache.method(head.method.as_bytes()) {
        Some(interned) => interned.bind(py).clone().into_any(),
        None => PyString::new(py, head.method).into_any(),
    };
    let fields = head.iter().enumerate().map(|(i, (id, name, value))| recent.field(py, cache, i, id, name, value));
    let headers = new_list(py, fields)?;
    let body = match body {
        Some(b"") => cache.empty.bind(py).clone().into_any(),
        Some(body) => PyBytes::new(py, body).into_any(),
        None => py.None().into_bound(py),
    };
    let fields = [
        method,
        recent.target(py, head.target).into_any(),
        cache.versions[usize::from(head.version & 1)].bind(py).clone().into_any(),
        headers.into_any(),
        PyBool::new(py, head.keep_alive).to_owned().into_any(),
        body,
    ];
    match request_type {
        None => Ok(new_tuple(py, fields)?.into_any()),
        Some(request_type) => {
            let [a, b, c, d, e, f] = fields;
            new_tuple_of(py, request_type, [a, b, c, d, e, f, request_type.owner.bind(py).clone()])
        }
    }
}

/// The `(name, value)` tuples and the target of this connection's previous request, each with
/// a Rust copy of what it was made from, so that checking for a repeat needs no Python call.
#[derive(Default)]
struct Recent {
    /// By field position.
    fields: Vec<Option<RecentField>>,
    /// Bytes held in the `key`s of `fields`.
    held: usize,
    target: Option<(Py<PyString>, Vec<u8>)>,
}

struct RecentField {
    tuple: Py<PyTuple>,
    id: FieldName,
    /// The lowercase name (only for `FieldName::Other`), then the value.
    key: Vec<u8>,
    name_len: usize,
}

impl RecentField {
    fn matches(&self, id: FieldName, name: &[u8], value: &[u8]) -> bool {
        let (cached_name, cached_value) = self.key.split_at(self.name_len);
        self.id == id && cached_value == value && (id != FieldName::Other || cached_name.eq_ignore_ascii_case(name))
    }
}

/// Fields kept per connection: positions, the longest value, and all of them together (so
/// 10,000 idle connections hold little).
const RECENT_FIELDS: usize = 16;
const RECENT_VALUE: usize = 256;
const RECENT_BYTES: usize = 1024;

impl Recent {
    /// The tuple for field `i`: the previous request's when it is the same, else a new one.
    fn field<'py>(
        &mut self,
        py: Python<'py>,
        cache: &Cache,
        i: usize,
        id: FieldName,
        name: &[u8],
        value: &[u8],
    ) -> PyResult<Bound<'py, PyTuple>> {
        let slot = self.fields.get_mut(i);
        if let Some(Some(recent)) = &slot {
            if recent.matches(id, name, value) {
                return Ok(recent.tuple.bind(py).clone());
            }
        }
        let name_object = match cache.name(id) {
            Some(cached) => cached.bind(py).clone().into_any(),
            None => lowercase(py, name)?.into_any(),
        };
        let tuple = new_tuple(py, [name_object, PyBytes::new(py, value).into_any()])?;
        if i >= RECENT_FIELDS {
            return Ok(tuple);
        }
        // Remember it, reusing the old key's buffer, within the per-connection budget.
        let old = slot.and_then(Option::take);
        let mut key = old.map(|old| {
            self.held -= old.key.len();
            old.key
        });
        let name_len = if id == FieldName::Other { name.len() } else { 0 };
        let len = name_len + value.len();
        if value.len() <= RECENT_VALUE && self.held + len <= RECENT_BYTES {
            let mut key = key.take().unwrap_or_default();
            key.clear();
            key.extend(name[..name_len].iter().map(u8::to_ascii_lowercase));
            key.extend_from_slice(value);
            self.held += len;
            if self.fields.len() <= i {
                self.fields.resize_with(i + 1, || None);
            }
            if let Some(slot) = self.fields.get_mut(i) {
                *slot = Some(RecentField { tuple: tuple.clone().unbind(), id, key, name_len });
            }
        }
        Ok(tuple)
    }

    /// The target as a `str`: the previous request's when it is the same.
    fn target<'py>(&mut self, py: Python<'py>, target: &str) -> Bound<'py, PyString> {
        if let Some((previous, bytes)) = &self.target {
            if bytes.as_slice() == target.as_bytes() {
                return previous.bind(py).clone();
            }
        }
        let new = PyString::new(py, target);
        if target.len() <= RECENT_VALUE {
            let mut bytes = self.target.take().map(|(_, bytes)| bytes).unwrap_or_default();
            bytes.clear();
            bytes.extend_from_slice(target.as_bytes());
            self.target = Some((new.clone().unbind(), bytes));
        } else {
            self.target = None;
        }
        new
    }
}

// Tuples and lists are built with the C API: pyo3's generic constructors go through
// iterators and length checks that cost more than the objects themselves here.

/// A new tuple holding `items`.
fn new_tuple<'py, const N: usize>(py: Python<'py>, items: [Bound<'py, PyAny>; N]) -> PyResult<Bound<'py, PyTuple>> {
    // SAFETY: PyTuple_New returns a new reference or NULL with an exception set; the length
    // is a small constant.
    let tuple = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(N as ffi::Py_ssize_t))? };
    for (i, item) in items.into_iter().enumerate() {
        // SAFETY: `tuple` is a fresh tuple of length N, i < N, and PyTuple_SetItem steals the
        // reference that `into_ptr` hands over (it cannot fail for a fresh tuple in range).
        unsafe { ffi::PyTuple_SetItem(tuple.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr()) };
    }
    // SAFETY: PyTuple_New made a tuple.
    Ok(unsafe { tuple.cast_into_unchecked() })
}

/// A new instance of the tuple subclass `request_type` holding `items`.
fn new_tuple_of<'py, const N: usize>(
    py: Python<'py>,
    request_type: &RequestType,
    items: [Bound<'py, PyAny>; N],
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: `alloc` is the type's tp_alloc, checked at construction to belong to a subclass
    // of tuple; for a variable-size type it returns a new, zeroed object with room for N items
    // (ob_size N), or NULL with an exception set.
    let object = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            (request_type.alloc)(request_type.class.as_ptr().cast(), N as ffi::Py_ssize_t),
        )?
    };
    for (i, item) in items.into_iter().enumerate() {
        // SAFETY: `object` is a fresh tuple (subclass instance, so PyTuple_Check passes) of
        // length N with refcount 1, i < N, and PyTuple_SetItem steals the reference.
        if unsafe { ffi::PyTuple_SetItem(object.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr()) } != 0 {
            return Err(PyErr::fetch(py));
        }
    }
    Ok(object)
}

/// A new list holding `items`; the first error stops it.
fn new_list<'py, T>(
    py: Python<'py>,
    items: impl ExactSizeIterator<Item = PyResult<Bound<'py, T>>>,
) -> PyResult<Bound<'py, PyList>> {
    let len = items.len();
    let size = ffi::Py_ssize_t::try_from(len).map_err(|_| PyOverflowError::new_err("list too long"))?;
    // SAFETY: PyList_New returns a new reference or NULL with an exception set. Its slots are
    // NULL until set; the list is only handed out below once all `len` are, and list
    // deallocation skips NULL slots if it is dropped before.
    let list = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(size))? };
    let mut filled = 0;
    for (i, item) in items.take(len).enumerate() {
        // SAFETY: `list` is a list with `len` slots and i < len; PyList_SetItem steals the
        // reference that `into_ptr` hands over.
        unsafe { ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t, item?.into_ptr()) };
        filled += 1;
    }
    if filled != len {
        return Err(PyRuntimeError::new_err("fewer list items than announced"));
    }
    // SAFETY: PyList_New made a list.
    Ok(unsafe { list.cast_into_unchecked() })
}

/// A new `bytes` holding `name` in lowercase.
fn lowercase<'py>(py: Python<'py>, name: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    PyBytes::new_with(py, name.len(), |buf| {
        for (dst, src) in buf.iter_mut().zip(name) {
            *dst = src.to_ascii_lowercase();
        }
        Ok(())
    })
}

/// `wirespeed.errors.parse_error(status, detail)`: the one place a Rust error becomes Python's.
fn parse_error(py: Python<'_>, error: ParseError) -> PyResult<Bound<'_, PyAny>> {
    static PARSE_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let function = PARSE_ERROR.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("wirespeed.errors")?.getattr("parse_error")?.unbind())
    })?;
    function.bind(py).call1((error.status(), error.detail()))
}

/// Python objects made once per interpreter and shared by every parser.
struct Cache {
    /// GET, POST, PUT, DELETE, HEAD, OPTIONS, PATCH as interned strings.
    methods: [Py<PyString>; 7],
    /// The lowercase name of each `FieldName::KNOWN`, in id order.
    names: Vec<Py<PyBytes>>,
    empty: Py<PyBytes>,
    /// 0 and 1, the minor versions.
    versions: [Py<PyInt>; 2],
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];

impl Cache {
    fn get(py: Python<'_>) -> &'static Cache {
        static CACHE: PyOnceLock<Cache> = PyOnceLock::new();
        CACHE.get_or_init(py, || Cache {
            methods: METHODS.map(|m| PyString::intern(py, m).unbind()),
            names: FieldName::KNOWN.iter().map(|n| PyBytes::new(py, n.as_bytes()).unbind()).collect(),
            empty: PyBytes::new(py, b"").unbind(),
            versions: [0u8, 1].map(|v| v.into_pyobject(py).unwrap_or_else(|never| match never {}).unbind()),
        })
    }

    fn method(&self, method: &[u8]) -> Option<&Py<PyString>> {
        let index = match method {
            b"GET" => 0,
            b"POST" => 1,
            b"PUT" => 2,
            b"DELETE" => 3,
            b"HEAD" => 4,
            b"OPTIONS" => 5,
            b"PATCH" => 6,
            _ => return None,
        };
        self.methods.get(index)
    }

    fn name(&self, id: FieldName) -> Option<&Py<PyBytes>> {
        (id as usize).checked_sub(1).and_then(|i| self.names.get(i))
    }
}
