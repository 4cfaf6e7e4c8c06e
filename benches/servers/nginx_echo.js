// POST /echo for nginx through njs, used when the echo module is not installed.
function echo(r) {
    r.headersOut['Content-Type'] = 'application/octet-stream';
    r.return(200, r.requestText || '');
}

export default { echo };
