//! The Python face of `ws_frames::Reader`: `WebSocketReader(max_frame_size, max_message_size,
//! compression)` and its `feed(data) -> list`, which turns `ReadEvent`s into the `str`, `bytes`
//! and tuples of the contract in python/wirespeed/websocket/frames.py (whose pure-Python
//! `WebSocketReader` gives the same events for the same bytes).
//!
//! One call per received buffer, one pass over it: the events of a buffer are made as the
//! reader reports them and the list is built once, at its final length. A text message
//! becomes a `str` straight from its bytes, which the reader has already checked as UTF-8. A
//! binary or compressed message of one frame (the usual kind, and the large one) is streamed
//! by the reader (`Reader::streaming`): its `bytes` is made at its length when its header
//! arrives and each piece of payload is unmasked straight into it, one copy in all; a
//! fragmented one is copied once from the reader's buffer.
//!
//! A type of the C API (`PyType_FromSpec`, `feed` a METH_O function), not a pyo3 `#[pyclass]`:
//! a second `#[pymethods]` `feed` shares pyo3's call machinery (its trampoline and argument
//! extraction) with `RequestParser.feed`, and with whole-crate LTO that stopped it being
//! inlined into the HTTP parser's wrapper, about 80 instructions more per request
//! (benches/count_instructions.py plaintext). For the same reason objects are made with the C
//! API directly rather than with pyo3's `PyBytes::new` and `PyString::new`, which the HTTP
//! parser's per-request code calls (see python_asgi.rs).

use std::cell::Cell;
use std::ffi::{c_void, CStr};

use pyo3::exceptions::{PyMemoryError, PyOverflowError, PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use crate::python::{slot, to_interpreter, type_from_spec};
use crate::ws_frames::{unmask_into, ReadEvent, Reader, WsFault, CLOSE, PING, PONG};

/// The opcode that marks a fault in the events, as the Python twin names it (`FAULT`).
const FAULT: i64 = -1;

/// A `WebSocketReader`: the object header, then the reader and what its `feed` keeps.
#[repr(C)]
struct ReaderObject {
    ob_base: ffi::PyObject,
    reader: Reader,
    /// The message the reader is streaming, if any.
    streamed: Streamed,
    /// A `feed` is running: a second one (from a finalizer the garbage collector runs while
    /// the first allocates) is refused rather than given the same reader.
    busy: Cell<bool>,
}

/// The `bytes` of a message of one frame while its payload arrives: made at its full length,
/// and seen by nothing else until it is filled and reported.
struct Streamed {
    /// A new reference, or None between messages. Dropped only through `release`, under the
    /// GIL (a pyo3 `Py` dropped outside pyo3's own calls would be released later, not then).
    bytes: Option<Py<PyAny>>,
    /// Its buffer and size (valid while `bytes` is held), and how much of it is filled.
    buffer: *mut u8,
    size: usize,
    filled: usize,
    /// The opcode of a compressed message (reported as `(opcode, bytes)`), None for binary.
    compressed: Option<u8>,
}

impl Default for Streamed {
    fn default() -> Self {
        Streamed { bytes: None, buffer: std::ptr::null_mut(), size: 0, filled: 0, compressed: None }
    }
}

impl Streamed {
    fn begin(&mut self, py: Python<'_>, opcode: u8, compressed: bool, length: usize) -> PyResult<()> {
        self.release(py);
        let size = ffi::Py_ssize_t::try_from(length).map_err(|_| PyOverflowError::new_err("message too long"))?;
        // SAFETY: with a NULL pointer PyBytes_FromStringAndSize makes a `bytes` of `size`
        // bytes to be written by its maker before anyone else sees it (or returns NULL with an
        // exception set).
        let bytes = owned(py, unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), size) })?;
        // SAFETY: `bytes` is a bytes object: PyBytes_AsString gives its buffer (of `length`
        // bytes, which stays where it is for the object's life) and cannot fail.
        self.buffer = unsafe { ffi::PyBytes_AsString(bytes.as_ptr()) }.cast::<u8>();
        self.size = length;
        self.bytes = Some(bytes.unbind());
        self.filled = 0;
        self.compressed = compressed.then_some(opcode);
        Ok(())
    }

    /// Unmasks the next piece of the payload into the `bytes`.
    fn part(&mut self, masked: &[u8], key: [u8; 4]) {
        let end = self.filled + masked.len();
        if self.bytes.is_none() || end > self.size {
            return; // lost to an earlier error; or more than begun with, which the reader never gives
        }
        // SAFETY: `buffer` is the buffer of the `bytes` made by `begin`, held here and seen by
        // nobody yet, `size` bytes long; only its part between `filled` and `end`, checked to
        // lie within it, is written.
        let out = unsafe { std::slice::from_raw_parts_mut(self.buffer.add(self.filled), masked.len()) };
        unmask_into(out, masked, key);
        self.filled = end;
    }

    /// The event of the message, now filled.
    fn end<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let Some(bytes) = self.bytes.take() else {
            return Err(PyRuntimeError::new_err("a WebSocket message was lost to an earlier error"));
        };
        let bytes = bytes.into_bound(py);
        let compressed = self.compressed;
        *self = Streamed::default();
        match compressed {
            Some(opcode) => pair(py, opcode, bytes),
            None => Ok(bytes),
        }
    }

    fn release(&mut self, py: Python<'_>) {
        if let Some(bytes) = self.bytes.take() {
            drop(bytes.into_bound(py));
        }
        *self = Streamed::default();
    }
}

/// The `WebSocketReader` type, made once per interpreter.
pub fn reader_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    TYPE.get_or_try_init(py, || new_reader_type(py)).map(|class| class.bind(py))
}

/// The type object of `WebSocketReader`, from its slot functions.
fn new_reader_type(py: Python<'_>) -> PyResult<Py<PyType>> {
    const DOC: &CStr = c"WebSocketReader(max_frame_size, max_message_size, compression): reads one WebSocket \
        connection's messages (see wirespeed.websocket.frames for the events).";
    // The type keeps a pointer to its methods: they live as long as the process.
    let methods: &'static mut [ffi::PyMethodDef; 2] = Box::leak(Box::new([
        ffi::PyMethodDef {
            ml_name: c"feed".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunction: reader_feed },
            ml_flags: ffi::METH_O,
            ml_doc: c"feed(data): every event that data completes, in order.".as_ptr(),
        },
        ffi::PyMethodDef::zeroed(),
    ]));
    let mut slots = [
        slot(ffi::Py_tp_doc, DOC.as_ptr().cast_mut().cast()),
        slot(ffi::Py_tp_new, reader_new as ffi::newfunc as *mut c_void),
        slot(ffi::Py_tp_dealloc, reader_dealloc as ffi::destructor as *mut c_void),
        slot(ffi::Py_tp_methods, methods.as_mut_ptr().cast()),
        slot(0, std::ptr::null_mut()),
    ];
    let flags = ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_IMMUTABLETYPE;
    type_from_spec(py, c"wirespeed._parser.WebSocketReader", size_of::<ReaderObject>(), 0, flags, &mut slots)
}

const PARAMETERS: [&str; 3] = ["max_frame_size", "max_message_size", "compression"];

/// `max_frame_size` and `max_message_size` (ints, at least 0) limit one frame's payload and
/// one message (its compressed bytes, for a compressed one); `compression` (truthy):
/// permessage-deflate was negotiated, so RSV1 may mark a compressed message. By position or
/// by name.
fn arguments(args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Reader> {
    if args.len() > PARAMETERS.len() {
        return Err(PyTypeError::new_err(format!("WebSocketReader() takes 3 arguments ({} given)", args.len())));
    }
    let mut values: [Option<Bound<'_, PyAny>>; 3] = [None, None, None];
    for (value, given) in values.iter_mut().zip(args.iter()) {
        *value = Some(given);
    }
    for (key, given) in kwargs.into_iter().flat_map(|kwargs| kwargs.iter()) {
        let name = key.cast::<PyString>()?.to_cow()?;
        let Some(index) = PARAMETERS.iter().position(|parameter| *parameter == name) else {
            return Err(PyTypeError::new_err(format!("WebSocketReader() got an unexpected keyword argument '{name}'")));
        };
        if values[index].replace(given).is_some() {
            return Err(PyTypeError::new_err(format!("WebSocketReader() got multiple values for argument '{name}'")));
        }
    }
    let [Some(max_frame_size), Some(max_message_size), Some(compression)] = values else {
        let missing = values.iter().zip(PARAMETERS).find(|(value, _)| value.is_none()).map_or("", |(_, name)| name);
        return Err(PyTypeError::new_err(format!("WebSocketReader() missing required argument: '{missing}'")));
    };
    Ok(Reader::streaming(max_frame_size.extract()?, max_message_size.extract()?, compression.is_truthy()?))
}

/// Every event that `data` completes, in order.
fn feed<'py>(
    py: Python<'py>,
    reader: &mut Reader,
    streamed: &mut Streamed,
    data: &[u8],
) -> PyResult<Bound<'py, PyAny>> {
    let mut events = Events::None;
    let mut failure: Option<PyErr> = None;
    reader.feed(data, &mut |event| {
        if failure.is_some() {
            return;
        }
        let made = match event {
            ReadEvent::Begin { opcode, compressed, length } => {
                streamed.begin(py, opcode, compressed, length).map(|()| None)
            }
            ReadEvent::Part(masked, key) => {
                streamed.part(masked, key);
                Ok(None)
            }
            ReadEvent::End => streamed.end(py).map(Some),
            event => event_object(py, event).map(Some),
        };
        match made {
            Ok(Some(object)) => events.push(object),
            Ok(None) => {}
            Err(err) => failure = Some(err),
        }
    });
    if let Some(err) = failure {
        return Err(err);
    }
    new_list(py, events)
}

// The slot functions. The interpreter calls each with the GIL held, `object` a live
// `WebSocketReader` (the type cannot be subclassed) and `args`, `kwargs` and `data` live
// objects it lends, which is what `Python::assume_attached` and the borrowed pointers need.

unsafe extern "C" fn reader_new(
    class: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: see above; `args` is a tuple and `kwargs` a dict or NULL (tp_new's arguments).
    let (py, args, kwargs) = unsafe {
        let py = Python::assume_attached();
        let args = Bound::from_borrowed_ptr(py, args).cast_into_unchecked::<PyTuple>();
        let kwargs = Bound::from_borrowed_ptr_or_opt(py, kwargs).map(|kwargs| kwargs.cast_into_unchecked::<PyDict>());
        (py, args, kwargs)
    };
    let object = arguments(&args, kwargs.as_ref()).and_then(|reader| {
        // SAFETY: PyObject_Malloc returns memory for a ReaderObject, or NULL.
        let memory = unsafe { ffi::PyObject_Malloc(size_of::<ReaderObject>()) };
        if memory.is_null() {
            return Err(PyMemoryError::new_err("no memory for a WebSocketReader"));
        }
        // SAFETY: `memory` is large enough for a ReaderObject (and aligned for it: PyObject_Malloc
        // aligns to 16 bytes); PyObject_Init sets its type (a heap type, which it increfs) and
        // reference count, and returns it; the fields after the header are written before
        // anything else sees the object, which is not GC-tracked.
        unsafe {
            let object = ffi::PyObject_Init(memory.cast(), class);
            let this = object.cast::<ReaderObject>();
            std::ptr::addr_of_mut!((*this).reader).write(reader);
            std::ptr::addr_of_mut!((*this).streamed).write(Streamed::default());
            std::ptr::addr_of_mut!((*this).busy).write(Cell::new(false));
            Ok(Bound::from_owned_ptr(py, object))
        }
    });
    to_interpreter(py, object)
}

unsafe extern "C" fn reader_dealloc(object: *mut ffi::PyObject) {
    // SAFETY: see above (the interpreter deallocates with the GIL held); the last reference to
    // `object` is gone; it was allocated with PyObject_Malloc (not GC) and initialised by
    // `reader_new`, its fields are dropped once, here, and, as an instance of a heap type, it
    // holds a reference to its type.
    unsafe {
        let this = object.cast::<ReaderObject>();
        (*this).streamed.release(Python::assume_attached());
        std::ptr::drop_in_place(std::ptr::addr_of_mut!((*this).streamed));
        std::ptr::drop_in_place(std::ptr::addr_of_mut!((*this).reader));
        let class = ffi::Py_TYPE(object);
        ffi::PyObject_Free(object.cast());
        ffi::Py_DECREF(class.cast());
    }
}

unsafe extern "C" fn reader_feed(object: *mut ffi::PyObject, data: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: see above: `data` is a live object.
    if unsafe { ffi::PyBytes_Check(data) } == 0 {
        return to_interpreter(py, Err(PyTypeError::new_err("feed() takes bytes")));
    }
    // SAFETY: `data` is a bytes object, held by the caller for the call: its buffer and size
    // stay as they are (bytes are immutable), and PyBytes_AsString of a bytes cannot fail.
    let data = unsafe {
        let size = usize::try_from(ffi::PyBytes_Size(data)).unwrap_or(0);
        std::slice::from_raw_parts(ffi::PyBytes_AsString(data).cast::<u8>(), size)
    };
    let this = object.cast::<ReaderObject>();
    // SAFETY: see above; `busy` is only read and set here, under the GIL.
    let busy = unsafe { &(*this).busy };
    if busy.replace(true) {
        return to_interpreter(py, Err(PyRuntimeError::new_err("WebSocketReader.feed called during feed")));
    }
    // SAFETY: `object` is a live ReaderObject, and `busy` makes these the only references to
    // its reader and its streamed message until it is cleared below.
    let (reader, streamed) =
        unsafe { (&mut *std::ptr::addr_of_mut!((*this).reader), &mut *std::ptr::addr_of_mut!((*this).streamed)) };
    let events = feed(py, reader, streamed, data);
    busy.set(false);
    to_interpreter(py, events)
}

/// One event as the contract has it.
fn event_object<'py>(py: Python<'py>, event: ReadEvent<'_>) -> PyResult<Bound<'py, PyAny>> {
    match event {
        ReadEvent::Text(text) => new_str(py, text),
        ReadEvent::Binary(data) => new_bytes(py, data),
        ReadEvent::Ping(data) => pair(py, PING, new_bytes(py, data)?),
        ReadEvent::Pong(data) => pair(py, PONG, new_bytes(py, data)?),
        ReadEvent::Compressed(opcode, data) => pair(py, opcode, new_bytes(py, data)?),
        ReadEvent::Close(code, reason) => {
            let code = match code {
                Some(code) => new_int(py, i64::from(code))?,
                None => py.None().into_bound(py),
            };
            triple(py, new_int(py, i64::from(CLOSE))?, code, new_str(py, reason.as_bytes())?)
        }
        ReadEvent::Fault(fault) => fault_event(py, fault),
        // The streamed events are taken by `feed`.
        ReadEvent::Begin { .. } | ReadEvent::Part(..) | ReadEvent::End => {
            Err(PyRuntimeError::new_err("a streamed WebSocket message out of place"))
        }
    }
}

/// `(FAULT, close_code, reason)`.
fn fault_event(py: Python<'_>, fault: WsFault) -> PyResult<Bound<'_, PyAny>> {
    let code = new_int(py, i64::from(fault.close_code()))?;
    triple(py, new_int(py, FAULT)?, code, new_str(py, fault.reason().as_bytes())?)
}

/// A new reference returned by the C API, or the exception it set (NULL).
fn owned(py: Python<'_>, object: *mut ffi::PyObject) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the C API calls below return a new (owned) reference, or NULL with an exception
    // set, which from_owned_ptr_or_err takes as such.
    unsafe { Bound::from_owned_ptr_or_err(py, object) }
}

fn length(data: &[u8]) -> PyResult<ffi::Py_ssize_t> {
    ffi::Py_ssize_t::try_from(data.len()).map_err(|_| PyOverflowError::new_err("message too long"))
}

fn new_bytes<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let len = length(data)?;
    // SAFETY: the pointer and length describe `data`, alive for the call.
    owned(py, unsafe { ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), len) })
}

/// A `str` of `text`, which is UTF-8 (the reader checked it; were it not, this would raise
/// UnicodeDecodeError, never misread it).
fn new_str<'py>(py: Python<'py>, text: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let len = length(text)?;
    // SAFETY: as in `new_bytes`.
    owned(py, unsafe { ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), len) })
}

fn new_int(py: Python<'_>, value: i64) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: PyLong_FromLongLong returns a new reference or NULL with an exception set.
    owned(py, unsafe { ffi::PyLong_FromLongLong(value) })
}

/// `(opcode, data)`.
fn pair<'py>(py: Python<'py>, opcode: u8, data: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let opcode = new_int(py, i64::from(opcode))?;
    // SAFETY: PyTuple_Pack takes 2 live objects (borrowed here for the call) and returns a new
    // tuple holding a new reference to each, or NULL with an exception set.
    owned(py, unsafe { ffi::PyTuple_Pack(2, opcode.as_ptr(), data.as_ptr()) })
}

fn triple<'py>(
    py: Python<'py>,
    first: Bound<'py, PyAny>,
    second: Bound<'py, PyAny>,
    third: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: as in `pair`, with 3 objects.
    owned(py, unsafe { ffi::PyTuple_Pack(3, first.as_ptr(), second.as_ptr(), third.as_ptr()) })
}

/// The events of one `feed` so far: most buffers complete one message or none, which need no
/// vector.
enum Events<'py> {
    None,
    One(Bound<'py, PyAny>),
    Many(Vec<Bound<'py, PyAny>>),
}

impl<'py> Events<'py> {
    fn push(&mut self, event: Bound<'py, PyAny>) {
        *self = match std::mem::replace(self, Events::None) {
            Events::None => Events::One(event),
            Events::One(first) => Events::Many(vec![first, event]),
            Events::Many(mut all) => {
                all.push(event);
                Events::Many(all)
            }
        };
    }
}

/// The list of `events`, made at its length.
fn new_list<'py>(py: Python<'py>, events: Events<'py>) -> PyResult<Bound<'py, PyAny>> {
    let items = match events {
        Events::None => Vec::new(),
        Events::One(event) => {
            // SAFETY: PyList_New returns a new reference or NULL with an exception set.
            let list = owned(py, unsafe { ffi::PyList_New(1) })?;
            // SAFETY: `list` is a fresh list of length 1; PyList_SetItem steals the reference
            // that `into_ptr` hands over (it cannot fail for index 0).
            unsafe { ffi::PyList_SetItem(list.as_ptr(), 0, event.into_ptr()) };
            return Ok(list);
        }
        Events::Many(all) => all,
    };
    let len = ffi::Py_ssize_t::try_from(items.len()).map_err(|_| PyOverflowError::new_err("too many events"))?;
    // SAFETY: PyList_New returns a new reference or NULL with an exception set.
    let list = owned(py, unsafe { ffi::PyList_New(len) })?;
    for (i, item) in items.into_iter().enumerate() {
        // SAFETY: `list` is a fresh list of `len` slots and i < len; PyList_SetItem steals the
        // reference that `into_ptr` hands over (it cannot fail for a fresh list in range).
        unsafe { ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr()) };
    }
    Ok(list)
}
