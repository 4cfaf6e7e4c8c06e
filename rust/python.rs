//! The Python face of the parser, and the only module that uses pyo3: `RequestParser(config)`
//! and its `feed(data) -> list`, which turns `parser::Event`s into the tuples, bytes, `None`s
//! and exceptions of the contract in python/wirespeed/parser.py.
//!
//! One call per buffer; per request it builds one tuple, the target string and one
//! `RawHeaders`: one allocation holding the field lines as received and the offsets of each
//! name and value, which makes its `(name, value)` tuples only when it is first read (a handler that never looks at the headers never pays for them). Common
//! methods and field names are cached Python objects, so a typical request creates no string
//! for them. And since a keep-alive client often sends the same field lines request after
//! request, each parser keeps the previous request's `RawHeaders` and target (`Recent`): the
//! same bytes again reuse the immutable object, with its tuples if they were made.

use std::cell::Cell;
use std::ffi::{c_int, c_uint, c_void, CStr};

use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyMemoryError, PyOverflowError, PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PySlice, PyString, PyTuple, PyType};
use pyo3::{PyTraverseError, PyVisit};

use crate::error::ParseFault;
use crate::field_names::FieldName;
use crate::head::Head;
use crate::limits::Limits;
use crate::parser::{Event, Parser};

/// Parses one connection's requests. See `wirespeed.parser` for the event contract.
#[pyclass(module = "wirespeed._parser")]
pub struct RequestParser {
    parser: Parser,
    recent: Recent,
    /// The `RawHeaders` type.
    headers_type: Py<PyType>,
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
    /// `inline_body_size` and (if present) `max_requests_per_connection` and `ws` from
    /// `config` (a `wirespeed.config.Config`).
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
        // `ws` is "on" once the server has settled it (a Config as given may say "auto").
        let upgrades = match config.getattr("ws") {
            Ok(value) => value.extract::<String>().is_ok_and(|mode| mode == "on"),
            Err(_) => false,
        };
        let mut parser = Parser::new(limits);
        parser.set_max_requests(max_requests);
        parser.set_upgrades(upgrades);
        let headers_type = raw_headers_type(config.py())?.clone().unbind();
        Ok(RequestParser { parser, recent: Recent::default(), headers_type, request_type })
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
        let mut events = Events::None;
        let mut failure: Option<PyErr> = None;
        let cache = Cache::get(py);
        let recent = &mut self.recent;
        let request_type = self.request_type.as_ref();
        let headers_type = self.headers_type.bind(py);
        self.parser.feed(data, &mut |event| {
            if failure.is_some() {
                return;
            }
            let converted = match event {
                Event::Request { head, body } => request(py, cache, recent, headers_type, request_type, &head, body),
                Event::BodyChunk(data) => Ok(PyBytes::new(py, data).into_any()),
                Event::BodyEnd => Ok(py.None().into_bound(py)),
                Event::Error(error) => parse_error(py, error),
            };
            if let Err(err) = converted.and_then(|item| events.push(py, item)) {
                failure = Some(err);
            }
        });
        match failure {
            Some(err) => Err(err),
            None => events.into_list(py),
        }
    }

    /// After a request that asks for a WebSocket (with `ws` "on"): the bytes that followed its
    /// head, taken once, and the parser stops. None otherwise.
    fn detach<'py>(&mut self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.parser.take_upgraded().map(|rest| PyBytes::new(py, &rest))
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

/// The events of one `feed` so far. Most buffers complete one request: its list is made with
/// room for exactly one item, not grown from empty.
enum Events<'py> {
    None,
    One(Bound<'py, PyAny>),
    Many(Bound<'py, PyList>),
}

impl<'py> Events<'py> {
    fn push(&mut self, py: Python<'py>, event: Bound<'py, PyAny>) -> PyResult<()> {
        match std::mem::replace(self, Events::None) {
            Events::None => *self = Events::One(event),
            Events::One(first) => {
                let list = PyList::empty(py);
                list.append(first)?;
                list.append(event)?;
                *self = Events::Many(list);
            }
            Events::Many(list) => {
                list.append(event)?;
                *self = Events::Many(list);
            }
        }
        Ok(())
    }

    fn into_list(self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        match self {
            Events::None => Ok(PyList::empty(py)),
            Events::One(event) => {
                // SAFETY: PyList_New returns a new reference or NULL with an exception set.
                let list = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(1))? };
                // SAFETY: `list` is a fresh list of length 1; PyList_SetItem steals the
                // reference that `into_ptr` hands over (it cannot fail for index 0).
                unsafe { ffi::PyList_SetItem(list.as_ptr(), 0, event.into_ptr()) };
                // SAFETY: PyList_New made a list.
                Ok(unsafe { list.cast_into_unchecked() })
            }
            Events::Many(list) => Ok(list),
        }
    }
}

/// `(method, target, version, headers, keep_alive, body)`, or that and the owner as an
/// instance of the request type.
fn request<'py>(
    py: Python<'py>,
    cache: &Cache,
    recent: &mut Recent,
    headers_type: &Bound<'py, PyType>,
    request_type: Option<&RequestType>,
    head: &Head<'_, '_>,
    body: Option<&[u8]>,
) -> PyResult<Bound<'py, PyAny>> {
    // Cached objects are lent, not cloned: PyTuple_Pack takes its own references.
    let named_method;
    let method = match cache.method(head.method.as_bytes()) {
        Some(interned) => interned.bind(py).as_any(),
        None => {
            named_method = PyString::new(py, head.method).into_any();
            &named_method
        }
    };
    let headers = recent.fields(py, headers_type, head)?;
    let target = recent.target(py, head.target)?;
    let (body_bytes, none);
    let body = match body {
        Some(b"") => cache.empty.bind(py).as_any(),
        Some(body) => {
            body_bytes = PyBytes::new(py, body).into_any();
            &body_bytes
        }
        None => {
            none = py.None().into_bound(py);
            &none
        }
    };
    let version = cache.versions[usize::from(head.version & 1)].bind(py).as_any();
    let keep_alive = PyBool::new(py, head.keep_alive);
    match request_type {
        None => {
            // SAFETY: PyTuple_Pack takes 6 live objects (each borrowed here for the call) and
            // returns a new tuple holding a new reference to each, or NULL with an exception set.
            unsafe {
                Bound::from_owned_ptr_or_err(
                    py,
                    ffi::PyTuple_Pack(
                        6,
                        method.as_ptr(),
                        target.as_ptr(),
                        version.as_ptr(),
                        headers.as_ptr(),
                        keep_alive.as_ptr(),
                        body.as_ptr(),
                    ),
                )
            }
        }
        Some(request_type) => new_tuple_of(
            py,
            request_type,
            [
                method.clone(),
                target.into_any(),
                version.clone(),
                headers,
                keep_alive.to_owned().into_any(),
                body.clone(),
                request_type.owner.bind(py).clone(),
            ],
        ),
    }
}

/// The header fields of a request: a sequence of `(name, value)` tuples of `bytes` in the
/// order they were sent (names lowercase, values trimmed), made when first read and then kept.
/// Until then all there is of them is the bytes after this header, laid out by
/// `RawHeaders::build`.
///
/// A type of the C API rather than a pyclass: one allocation per request, holding its bytes
/// inline, and no garbage collector tracking (it refers to nothing but its tuples of `bytes`,
/// so it can be in no cycle). Made and freed per request, that costs a fraction of a pyclass
/// and a separate `bytes`. Its methods are the slot functions below.
#[repr(C)]
pub(crate) struct RawHeaders {
    ob_base: ffi::PyVarObject,
    len: usize,
    /// Bytes per offset in the table of the data: 2, or 4 for field lines over 64 KiB.
    width: usize,
    /// Bytes of data after this header.
    data_len: usize,
    /// The tuple of `(name, value)` tuples once made; null until then.
    tuples: Cell<*mut ffi::PyObject>,
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

/// Bytes per field in the table of a `RawHeaders`' data with offsets of `width` bytes: four
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

/// The `RawHeaders` type, made once per interpreter.
pub fn raw_headers_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    TYPE.get_or_try_init(py, || new_raw_headers_type(py)).map(|class| class.bind(py))
}

/// The type object of `RawHeaders`, from its slot functions.
fn new_raw_headers_type(py: Python<'_>) -> PyResult<Py<PyType>> {
    const DOC: &CStr = c"The header fields of one request: (name, value) tuples in the order received, names \
        lowercase, values trimmed. Immutable; the tuples are made when first iterated or indexed, then kept. \
        Equal to a list of the same tuples; a slice is a list; not hashable.";
    // The type keeps a pointer to its methods: they live as long as the process.
    let methods: &'static mut [ffi::PyMethodDef; 3] = Box::leak(Box::new([
        ffi::PyMethodDef {
            ml_name: c"index".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunction: raw_headers_index },
            ml_flags: ffi::METH_VARARGS,
            ml_doc: c"index(field, start=0, stop=sys.maxsize): the position of the first field equal to field."
                .as_ptr(),
        },
        ffi::PyMethodDef {
            ml_name: c"count".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunction: raw_headers_count },
            ml_flags: ffi::METH_VARARGS,
            ml_doc: c"count(field): how many fields are equal to field.".as_ptr(),
        },
        ffi::PyMethodDef::zeroed(),
    ]));
    let mut slots = [
        slot(ffi::Py_tp_doc, DOC.as_ptr().cast_mut().cast()),
        slot(ffi::Py_tp_dealloc, raw_headers_dealloc as ffi::destructor as *mut c_void),
        slot(ffi::Py_sq_length, raw_headers_len as ffi::lenfunc as *mut c_void),
        slot(ffi::Py_mp_length, raw_headers_len as ffi::lenfunc as *mut c_void),
        slot(ffi::Py_sq_item, raw_headers_item as ffi::ssizeargfunc as *mut c_void),
        slot(ffi::Py_mp_subscript, raw_headers_subscript as ffi::binaryfunc as *mut c_void),
        slot(ffi::Py_tp_iter, raw_headers_iter as ffi::getiterfunc as *mut c_void),
        slot(ffi::Py_tp_richcompare, raw_headers_richcompare as ffi::richcmpfunc as *mut c_void),
        slot(ffi::Py_tp_repr, raw_headers_repr as ffi::reprfunc as *mut c_void),
        slot(ffi::Py_tp_hash, ffi::PyObject_HashNotImplemented as ffi::hashfunc as *mut c_void),
        slot(ffi::Py_tp_methods, methods.as_mut_ptr().cast()),
        slot(0, std::ptr::null_mut()),
    ];
    let flags = ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_IMMUTABLETYPE | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
    type_from_spec(py, c"wirespeed._parser.RawHeaders", size_of::<RawHeaders>(), 1, flags, &mut slots)
}

/// A type made with `PyType_FromSpec`. `slots` must end with the zero slot, and each of the
/// others hold a function of its slot's signature (or the doc string, or a method table that
/// lives as long as the process).
pub(crate) fn type_from_spec(
    py: Python<'_>,
    name: &'static CStr,
    basicsize: usize,
    itemsize: c_int,
    flags: std::ffi::c_ulong,
    slots: &mut [ffi::PyType_Slot],
) -> PyResult<Py<PyType>> {
    if slots.last().is_none_or(|last| last.slot != 0) {
        return Err(PyTypeError::new_err("type slots must end with the zero slot"));
    }
    let mut spec = ffi::PyType_Spec {
        name: name.as_ptr(),
        basicsize: c_int::try_from(basicsize).map_err(|_| PyOverflowError::new_err("basicsize"))?,
        itemsize,
        flags: c_uint::try_from(flags).map_err(|_| PyOverflowError::new_err("type flags"))?,
        slots: slots.as_mut_ptr(),
    };
    // SAFETY: `spec` is a valid spec: its name is a static string, the slots end with the
    // zero slot (checked above) and each holds what its slot takes (the caller's promise).
    // PyType_FromSpec copies what it keeps of the rest.
    let class = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyType_FromSpec(&mut spec))? };
    // SAFETY: PyType_FromSpec made a type.
    Ok(unsafe { class.cast_into_unchecked::<PyType>() }.unbind())
}

pub(crate) fn slot(slot: c_int, pfunc: *mut c_void) -> ffi::PyType_Slot {
    ffi::PyType_Slot { slot, pfunc }
}

impl RawHeaders {
    /// The fields of `head`, whose field lines are `section`, as a new instance of `class` (the
    /// `RawHeaders` type). Its data is `section`, then per field where its name starts and
    /// ends and where its value starts and ends (little-endian offsets into `section`, of
    /// `width` bytes) and its `FieldName` id: one copy of the bytes (so a request that repeats
    /// the previous one's field lines is found with one comparison, `holds`), and reading them
    /// needs no scan.
    fn build<'py>(
        py: Python<'py>,
        class: &Bound<'py, PyType>,
        head: &Head<'_, '_>,
        section: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        let text_len = section.len();
        let width = if u16::try_from(text_len).is_ok() { 2 } else { 4 };
        if u32::try_from(text_len).is_err() {
            return Err(PyOverflowError::new_err("header section too large"));
        }
        let data_len = text_len + head.fields.len() * span_len(width);
        let items = ffi::Py_ssize_t::try_from(data_len).map_err(|_| PyOverflowError::new_err("header section"))?;
        // Not PyType_GenericAlloc, which zeroes the memory first: every byte is written here.
        // SAFETY: PyObject_Malloc returns memory for the header and the data, or NULL.
        let memory = unsafe { ffi::PyObject_Malloc(size_of::<RawHeaders>() + data_len) };
        if memory.is_null() {
            return Err(PyMemoryError::new_err("no memory for header fields"));
        }
        // SAFETY: `memory` is large enough for a RawHeaders; PyObject_InitVar sets its type (a
        // heap type, which it increfs), size and reference count, and returns it: a new
        // reference (the type is not GC, so nothing else sees it yet).
        let object = unsafe {
            let object = ffi::PyObject_InitVar(memory.cast(), class.as_ptr().cast(), items);
            Bound::from_owned_ptr(py, object.cast())
        };
        // SAFETY: `object` is a fresh RawHeaders nobody else sees yet, with `data_len` bytes
        // after its header; the fields written here are plain values (nothing to drop).
        unsafe {
            let this = object.as_ptr().cast::<RawHeaders>();
            std::ptr::addr_of_mut!((*this).len).write(head.fields.len());
            std::ptr::addr_of_mut!((*this).width).write(width);
            std::ptr::addr_of_mut!((*this).data_len).write(data_len);
            std::ptr::addr_of_mut!((*this).tuples).write(Cell::new(std::ptr::null_mut()));
            let data = std::slice::from_raw_parts_mut(this.cast::<u8>().add(size_of::<RawHeaders>()), data_len);
            let (text, table) = data.split_at_mut(text_len);
            text.copy_from_slice(section);
            match width {
                2 => put_spans::<2>(table, head, section),
                _ => put_spans::<4>(table, head, section),
            }
        }
        Ok(object)
    }

    /// The header and the data of `object`.
    ///
    /// # Safety
    /// `object` is a live `RawHeaders`, and stays alive while the answer is used.
    pub(crate) unsafe fn parts<'a>(object: *mut ffi::PyObject) -> (&'a RawHeaders, &'a [u8]) {
        // SAFETY: a RawHeaders starts with this header and has `data_len` bytes after it,
        // written once by `build` before anyone else could see it.
        unsafe {
            let this = &*object.cast::<RawHeaders>();
            let data = std::slice::from_raw_parts(object.cast::<u8>().add(size_of::<RawHeaders>()), this.data_len);
            (this, data)
        }
    }

    /// Whether these are the fields of a request with `len` fields in `section`.
    fn holds(&self, data: &[u8], len: usize, section: &[u8]) -> bool {
        self.len == len && data.len() == section.len() + len * span_len(self.width) && data.starts_with(section)
    }

    /// The `(name id, name as sent, value)` of each field.
    pub(crate) fn fields<'a>(&self, data: &'a [u8]) -> impl Iterator<Item = (u8, &'a [u8], &'a [u8])> {
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

    /// The `(name, value)` tuples of `object`, made on first use.
    ///
    /// # Safety
    /// `object` is a live `RawHeaders`.
    unsafe fn tuples<'py>(py: Python<'py>, object: *mut ffi::PyObject) -> PyResult<Bound<'py, PyTuple>> {
        // SAFETY: as the caller promises.
        let (this, data) = unsafe { RawHeaders::parts(object) };
        if this.tuples.get().is_null() {
            let cache = Cache::get(py);
            let fields = this.fields(data).map(|(id, name, value)| {
                let name = match cache.name(id) {
                    Some(cached) => cached.bind(py).clone(),
                    None => lowercase(py, name)?,
                };
                new_tuple(py, [name.into_any(), PyBytes::new(py, value).into_any()])
            });
            let made = new_tuple_from(py, fields, this.len)?;
            // Making them ran Python code (allocation can collect garbage): if that set them
            // first, those are kept.
            if this.tuples.get().is_null() {
                this.tuples.set(made.into_ptr());
            }
        }
        // SAFETY: `tuples` holds a reference to a tuple, released only by the deallocator.
        Ok(unsafe { Bound::from_borrowed_ptr(py, this.tuples.get()).cast_into_unchecked() })
    }
}

/// Hands a slot function's result to the interpreter: a new reference, or NULL with the
/// exception set.
pub(crate) fn to_interpreter(py: Python<'_>, result: PyResult<Bound<'_, PyAny>>) -> *mut ffi::PyObject {
    match result {
        Ok(object) => object.into_ptr(),
        Err(err) => {
            err.restore(py);
            std::ptr::null_mut()
        }
    }
}

// The slot functions of RawHeaders. The interpreter calls each with the GIL held and `object` a
// live RawHeaders (the type is not subclassable and cannot be instantiated from Python), which
// is what `Python::assume_attached` and `RawHeaders::parts` / `tuples` need.

unsafe extern "C" fn raw_headers_dealloc(object: *mut ffi::PyObject) {
    // SAFETY: the last reference to `object` is gone; it was allocated with PyObject_Malloc
    // (not GC), its tuples are a reference it owns, and, as an instance of a
    // heap type, it holds a reference to its type.
    unsafe {
        let (this, _) = RawHeaders::parts(object);
        let tuples = this.tuples.get();
        if !tuples.is_null() {
            ffi::Py_DECREF(tuples);
        }
        let class = ffi::Py_TYPE(object);
        ffi::PyObject_Free(object.cast());
        ffi::Py_DECREF(class.cast());
    }
}

unsafe extern "C" fn raw_headers_len(object: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    // SAFETY: see above; a field count fits in Py_ssize_t (it was allocated as bytes).
    unsafe { RawHeaders::parts(object).0.len as ffi::Py_ssize_t }
}

/// A field by position (the sequence protocol: `reversed`; negative positions are already
/// counted from the end).
unsafe extern "C" fn raw_headers_item(object: *mut ffi::PyObject, index: ffi::Py_ssize_t) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: see above.
    let item = unsafe { RawHeaders::tuples(py, object) }.and_then(|tuples| tuples.as_any().get_item(index));
    to_interpreter(py, item)
}

/// `headers[index]`: a field by position, or a list of them for a slice.
unsafe extern "C" fn raw_headers_subscript(
    object: *mut ffi::PyObject,
    index: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: see above; `index` is a live object the caller lends.
    let (py, index) = unsafe {
        let py = Python::assume_attached();
        (py, Bound::from_borrowed_ptr(py, index))
    };
    // SAFETY: see above.
    let item = unsafe { RawHeaders::tuples(py, object) }.and_then(|tuples| {
        let item = tuples.as_any().get_item(&index)?;
        if index.is_instance_of::<PySlice>() {
            return Ok(item.cast_into::<PyTuple>()?.to_list().into_any());
        }
        Ok(item)
    });
    to_interpreter(py, item)
}

unsafe extern "C" fn raw_headers_iter(object: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: see above.
    let iterator = unsafe { RawHeaders::tuples(py, object) }.and_then(|tuples| Ok(tuples.try_iter()?.into_any()));
    to_interpreter(py, iterator)
}

/// Equal to a list of the same tuples, or to another `RawHeaders` of the same fields.
unsafe extern "C" fn raw_headers_richcompare(
    object: *mut ffi::PyObject,
    other: *mut ffi::PyObject,
    op: c_int,
) -> *mut ffi::PyObject {
    // SAFETY: see above; `other` is a live object the caller lends.
    let (py, other) = unsafe {
        let py = Python::assume_attached();
        (py, Bound::from_borrowed_ptr(py, other))
    };
    let op = match op {
        ffi::Py_EQ => CompareOp::Eq,
        ffi::Py_NE => CompareOp::Ne,
        _ => return py.NotImplemented().into_ptr(),
    };
    // SAFETY: see above.
    let same_type = unsafe { ffi::Py_TYPE(other.as_ptr()) == ffi::Py_TYPE(object) };
    let theirs = if same_type {
        // SAFETY: `other` is a RawHeaders too.
        unsafe { RawHeaders::tuples(py, other.as_ptr()) }.map(|tuples| tuples.to_list())
    } else if let Ok(list) = other.cast::<PyList>() {
        Ok(list.clone())
    } else {
        return py.NotImplemented().into_ptr();
    };
    // SAFETY: see above.
    let mine = unsafe { RawHeaders::tuples(py, object) }.map(|tuples| tuples.to_list());
    let compared = mine.and_then(|mine| mine.as_any().rich_compare(theirs?, op));
    to_interpreter(py, compared)
}

unsafe extern "C" fn raw_headers_repr(object: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: see above.
    let repr = unsafe { RawHeaders::tuples(py, object) }
        .and_then(|tuples| Ok(PyString::new(py, &format!("RawHeaders({})", tuples.to_list().repr()?)).into_any()));
    to_interpreter(py, repr)
}

/// `index(field, start=0, stop=sys.maxsize)`: the position of the first field equal to
/// `field` in `start..stop` (the rest of `collections.abc.Sequence`).
unsafe extern "C" fn raw_headers_index(object: *mut ffi::PyObject, args: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: see above; `args` is the tuple of a METH_VARARGS call.
    unsafe { call_tuples_method(object, args, "index") }
}

/// `count(field)`: how many fields are equal to `field`.
unsafe extern "C" fn raw_headers_count(object: *mut ffi::PyObject, args: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: see above; `args` is the tuple of a METH_VARARGS call.
    unsafe { call_tuples_method(object, args, "count") }
}

/// The tuple method `name` of the tuples of `object`, called with `args`.
///
/// # Safety
/// Called with the GIL held, `object` a live RawHeaders and `args` a tuple.
unsafe fn call_tuples_method(object: *mut ffi::PyObject, args: *mut ffi::PyObject, name: &str) -> *mut ffi::PyObject {
    // SAFETY: as the caller promises.
    let (py, args) = unsafe {
        let py = Python::assume_attached();
        (py, Bound::from_borrowed_ptr(py, args).cast_into_unchecked::<PyTuple>())
    };
    // SAFETY: as the caller promises.
    let result = unsafe { RawHeaders::tuples(py, object) }.and_then(|tuples| tuples.as_any().call_method1(name, args));
    to_interpreter(py, result)
}

/// The `RawHeaders` and the target of this connection's previous request, to hand out again
/// when the next request repeats them (checking needs no Python call).
#[derive(Default)]
struct Recent {
    fields: Option<Py<PyAny>>,
    target: Option<(Py<PyString>, Vec<u8>)>,
}

/// The most kept per connection, so 10,000 idle connections hold little: the field lines of
/// the previous request, and its target.
const RECENT_BYTES: usize = 1024;
const RECENT_VALUE: usize = 256;

impl Recent {
    /// The fields of `head`: the previous request's object when its field lines were the same
    /// bytes, else a new one.
    fn fields<'py>(
        &mut self,
        py: Python<'py>,
        class: &Bound<'py, PyType>,
        head: &Head<'_, '_>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let section = field_section(head);
        if let Some(previous) = &self.fields {
            // SAFETY: `fields` only ever holds a RawHeaders, alive while it is held.
            let (this, data) = unsafe { RawHeaders::parts(previous.as_ptr()) };
            if this.holds(data, head.fields.len(), section) {
                return Ok(previous.bind(py).clone());
            }
        }
        let new = RawHeaders::build(py, class, head, section)?;
        self.fields = (section.len() <= RECENT_BYTES).then(|| new.clone().unbind());
        Ok(new)
    }

    /// The target as a `str`: the previous request's when it is the same.
    fn target<'py>(&mut self, py: Python<'py>, target: &str) -> PyResult<Bound<'py, PyString>> {
        if let Some((previous, bytes)) = &self.target {
            if bytes.as_slice() == target.as_bytes() {
                return Ok(previous.bind(py).clone());
            }
        }
        let new = ascii_string(py, target)?;
        if target.len() <= RECENT_VALUE {
            let mut bytes = self.target.take().map(|(_, bytes)| bytes).unwrap_or_default();
            bytes.clear();
            bytes.extend_from_slice(target.as_bytes());
            self.target = Some((new.clone().unbind(), bytes));
        } else {
            self.target = None;
        }
        Ok(new)
    }
}

/// `text`, which is ASCII (a request target is checked to be), as a `str`: decoded as
/// Latin-1, which gives the same string as UTF-8 here at less cost (a copy, no validation).
fn ascii_string<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyString>> {
    let len = ffi::Py_ssize_t::try_from(text.len()).map_err(|_| PyOverflowError::new_err("string too long"))?;
    // SAFETY: `text` is valid for `len` bytes; PyUnicode_DecodeLatin1 returns a new `str` or
    // NULL with an exception set (Latin-1 decoding itself cannot fail).
    let string = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyUnicode_DecodeLatin1(text.as_ptr().cast(), len, std::ptr::null()))?
    };
    // SAFETY: PyUnicode_DecodeLatin1 made a `str`.
    Ok(unsafe { string.cast_into_unchecked() })
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
fn parse_error(py: Python<'_>, error: ParseFault) -> PyResult<Bound<'_, PyAny>> {
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
