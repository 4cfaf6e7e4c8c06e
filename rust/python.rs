//! The Python face of the parser, and the only module that uses pyo3: `RequestParser(config)`
//! and its `feed(data) -> list`, which turns `parser::Event`s into the tuples, bytes, `None`s
//! and exceptions of the contract in python/wirespeed/parser.py.
//!
//! One call per buffer; per request it builds one tuple, the target string and one
//! `RawHeaders`: the header fields as a single `bytes` of the field lines as received and the
//! offsets of each name and value, which makes its `(name, value)` tuples only when it is
//! first read (a handler that never looks at the headers never pays for them). Common
//! methods and field names are cached Python objects, so a typical request creates no string
//! for them. And since a keep-alive client often sends the same field lines request after
//! request, each parser keeps the previous request's `RawHeaders` and target (`Recent`): the
//! same bytes again reuse the immutable object, with its tuples if they were made.

use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyInt, PyIterator, PyList, PySlice, PyString, PyTuple, PyType};
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
    let headers = recent.fields(py, head)?;
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

/// The header fields of a request: a sequence of `(name, value)` tuples of `bytes` in the
/// order they were sent (names lowercase, values trimmed), made when first read and then kept.
/// Until then all there is of them is `data`, laid out by `RawHeaders::new`.
#[pyclass(module = "wirespeed._parser", frozen, sequence)]
pub struct RawHeaders {
    data: Py<PyBytes>,
    len: usize,
    /// Bytes per offset in the table of `data`: 2, or 4 for field lines over 64 KiB.
    width: usize,
    tuples: PyOnceLock<Py<PyTuple>>,
}

/// The field lines of `head` as received: from the first field's name through the CRLF of the
/// last line (empty when there are none).
fn field_section<'b>(head: &Head<'_, 'b>) -> &'b [u8] {
    let Some(first) = head.fields.first() else {
        return &[];
    };
    let start = position(head.bytes, first.name.as_bytes());
    head.bytes.get(start..head.bytes.len().saturating_sub(2)).unwrap_or_default()
}

/// Where `part`, a subslice of `whole`, starts in it.
fn position(whole: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize)
}

/// Bytes per field in the table of `RawHeaders::data` with offsets of `width` bytes: four
/// offsets and the name's `FieldName` id.
fn span_len(width: usize) -> usize {
    4 * width + 1
}

/// Fills `table` with the span of each field of `head`, whose field lines are `section`: four
/// offsets of `W` bytes (little-endian) and the id. Every name and non-empty value lies in
/// `section`, so its offsets are at most `section.len()`, which fits in `W` bytes; an empty
/// value is placed at the end of its name.
fn put_spans<const W: usize>(table: &mut [u8], head: &Head<'_, '_>, section: &[u8]) {
    let at = |part: &[u8]| position(section, part).min(section.len());
    for (span, (id, name, value)) in table.chunks_exact_mut(4 * W + 1).zip(head.iter()) {
        let name_start = at(name);
        let name_end = name_start + name.len();
        let value_start = if value.is_empty() { name_end } else { at(value) };
        let offsets = [name_start, name_end, value_start, value_start + value.len()];
        for (number, offset) in span.chunks_exact_mut(W).zip(offsets) {
            number.copy_from_slice(&offset.to_le_bytes()[..W]);
        }
        span[4 * W] = id as u8;
    }
}

/// The four offsets of `W` bytes each at the start of `span`.
fn get_offsets<const W: usize>(span: &[u8]) -> [usize; 4] {
    let mut offsets = [0; 4];
    for (offset, number) in offsets.iter_mut().zip(span.chunks_exact(W)) {
        let mut bytes = [0u8; 8];
        bytes[..W].copy_from_slice(number);
        *offset = usize::from_le_bytes(bytes);
    }
    offsets
}

impl RawHeaders {
    /// The fields of `head`, whose field lines are `section`. `data` is `section`, then per
    /// field where its name starts and ends and where its value starts and ends (little-endian
    /// offsets into `section`, of `width` bytes) and its `FieldName` id: one copy of the bytes
    /// (so a request that repeats the previous one's field lines is found with one comparison,
    /// `holds`), and reading them needs no scan.
    fn new<'py>(py: Python<'py>, head: &Head<'_, '_>, section: &[u8]) -> PyResult<Bound<'py, RawHeaders>> {
        let text_len = section.len();
        let width = if u16::try_from(text_len).is_ok() { 2 } else { 4 };
        if u32::try_from(text_len).is_err() {
            return Err(PyOverflowError::new_err("header section too large"));
        }
        let data = PyBytes::new_with(py, text_len + head.fields.len() * span_len(width), |buf| {
            let (text, table) = buf.split_at_mut(text_len);
            text.copy_from_slice(section);
            match width {
                2 => put_spans::<2>(table, head, section),
                _ => put_spans::<4>(table, head, section),
            }
            Ok(())
        })?;
        let fields = RawHeaders { data: data.unbind(), len: head.fields.len(), width, tuples: PyOnceLock::new() };
        Bound::new(py, fields)
    }

    /// Whether these are the fields of a request with `len` fields in `section`.
    fn holds(&self, py: Python<'_>, len: usize, section: &[u8]) -> bool {
        let data = self.data.bind(py).as_bytes();
        self.len == len && data.len() == section.len() + len * span_len(self.width) && data.starts_with(section)
    }

    /// The `(name id, name as sent, value)` of each field.
    fn fields<'a>(&self, data: &'a [u8]) -> impl Iterator<Item = (u8, &'a [u8], &'a [u8])> {
        let width = self.width;
        let (text, table) = data.split_at(data.len().saturating_sub(self.len * span_len(width)));
        table.chunks_exact(span_len(width)).map(move |span| {
            let [name_start, name_end, value_start, value_end] = match width {
                2 => get_offsets::<2>(span),
                _ => get_offsets::<4>(span),
            };
            let name = text.get(name_start..name_end).unwrap_or_default();
            let value = text.get(value_start..value_end).unwrap_or_default();
            (span[4 * width], name, value)
        })
    }

    /// The `(name, value)` tuples, made on first use.
    fn tuples<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyTuple>> {
        if self.tuples.get(py).is_none() {
            // Not `get_or_try_init`, which lets go of the interpreter while it runs: a thread
            // that gets here at the same time makes equal tuples, and the first set is kept.
            let cache = Cache::get(py);
            let data = self.data.bind(py).as_bytes();
            let fields = self.fields(data).map(|(id, name, value)| {
                let name = match cache.name(id) {
                    Some(cached) => cached.bind(py).clone(),
                    None => lowercase(py, name)?,
                };
                new_tuple(py, [name.into_any(), PyBytes::new(py, value).into_any()])
            });
            let _ = self.tuples.set(py, new_tuple_from(py, fields, self.len)?.unbind());
        }
        match self.tuples.get(py) {
            Some(tuples) => Ok(tuples.bind(py)),
            None => Err(PyRuntimeError::new_err("header tuples not set")),
        }
    }
}

#[pymethods]
impl RawHeaders {
    fn __len__(&self) -> usize {
        self.len
    }

    /// A field by position, or a list of them for a slice.
    fn __getitem__<'py>(&self, py: Python<'py>, index: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let item = self.tuples(py)?.as_any().get_item(index)?;
        if index.is_instance_of::<PySlice>() {
            return Ok(item.cast_into::<PyTuple>()?.to_list().into_any());
        }
        Ok(item)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        self.tuples(py)?.try_iter()
    }

    /// The position of the first field equal to `field` in `start..stop` (the rest of
    /// `collections.abc.Sequence`).
    #[pyo3(signature = (field, start = 0, stop = isize::MAX))]
    fn index<'py>(
        &self,
        py: Python<'py>,
        field: &Bound<'py, PyAny>,
        start: isize,
        stop: isize,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.tuples(py)?.call_method1("index", (field, start, stop))
    }

    /// How many fields are equal to `field`.
    fn count<'py>(&self, py: Python<'py>, field: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.tuples(py)?.call_method1("count", (field,))
    }

    /// Equal to a list of the same tuples, or to another `RawHeaders` of the same fields.
    fn __richcmp__<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let theirs = if let Ok(other) = other.cast::<RawHeaders>() {
            other.get().tuples(py)?.to_list()
        } else if let Ok(other) = other.cast::<PyList>() {
            other.clone()
        } else {
            return Ok(py.NotImplemented());
        };
        let equal = self.tuples(py)?.to_list().eq(theirs)?;
        match op {
            CompareOp::Eq => Ok(PyBool::new(py, equal).to_owned().into_any().unbind()),
            CompareOp::Ne => Ok(PyBool::new(py, !equal).to_owned().into_any().unbind()),
            _ => Ok(py.NotImplemented()),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("RawHeaders({})", self.tuples(py)?.to_list().repr()?))
    }
}

/// The `RawHeaders` and the target of this connection's previous request, to hand out again
/// when the next request repeats them (checking needs no Python call).
#[derive(Default)]
struct Recent {
    fields: Option<Py<RawHeaders>>,
    target: Option<(Py<PyString>, Vec<u8>)>,
}

/// The most kept per connection, so 10,000 idle connections hold little: the field lines of
/// the previous request, and its target.
const RECENT_BYTES: usize = 1024;
const RECENT_VALUE: usize = 256;

impl Recent {
    /// The fields of `head`: the previous request's object when its field lines were the same
    /// bytes, else a new one.
    fn fields<'py>(&mut self, py: Python<'py>, head: &Head<'_, '_>) -> PyResult<Bound<'py, RawHeaders>> {
        let section = field_section(head);
        if let Some(previous) = &self.fields {
            if previous.get().holds(py, head.fields.len(), section) {
                return Ok(previous.bind(py).clone());
            }
        }
        let new = RawHeaders::new(py, head, section)?;
        self.fields = (section.len() <= RECENT_BYTES).then(|| new.clone().unbind());
        Ok(new)
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

/// A new tuple holding the `len` `items`; the first error stops it.
fn new_tuple_from<'py, T>(
    py: Python<'py>,
    items: impl Iterator<Item = PyResult<Bound<'py, T>>>,
    len: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let size = ffi::Py_ssize_t::try_from(len).map_err(|_| PyOverflowError::new_err("tuple too long"))?;
    // SAFETY: PyTuple_New returns a new reference or NULL with an exception set. Its slots are
    // NULL until set; the tuple is only handed out below once all `len` are, and tuple
    // deallocation skips NULL slots if it is dropped before.
    let tuple = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(size))? };
    let mut filled = 0;
    for (i, item) in items.take(len).enumerate() {
        // SAFETY: `tuple` is a fresh tuple with `len` slots and i < len; PyTuple_SetItem steals
        // the reference that `into_ptr` hands over (it cannot fail for a fresh tuple in range).
        unsafe { ffi::PyTuple_SetItem(tuple.as_ptr(), i as ffi::Py_ssize_t, item?.into_ptr()) };
        filled += 1;
    }
    if filled != len {
        return Err(PyRuntimeError::new_err("fewer tuple items than announced"));
    }
    // SAFETY: PyTuple_New made a tuple.
    Ok(unsafe { tuple.cast_into_unchecked() })
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

    /// The name of the `FieldName` whose id is `id`.
    fn name(&self, id: u8) -> Option<&Py<PyBytes>> {
        usize::from(id).checked_sub(1).and_then(|i| self.names.get(i))
    }
}
