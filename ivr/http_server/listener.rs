//! Where the listening socket comes from. Under systemd socket activation (`ivr.socket`,
//! `LISTEN_FDS`) it is the socket systemd holds: it outlives this process, so during a
//! restart new connections wait in its queue for the next process instead of being
//! refused. Otherwise, a bind of `IVR_LISTEN`.

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// The socket systemd passed, or `address` bound now.
pub async fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let mut passed = listenfd::ListenFd::from_env();
    if let Some(socket) = passed.take_tcp_listener(0)? {
        socket.set_nonblocking(true)?;
        let listener = TcpListener::from_std(socket)?;
        tracing::info!(address = %listener.local_addr()?, "listening on the socket systemd passed (IVR_LISTEN is not used)");
        return Ok(listener);
    }
    TcpListener::bind(address).await
}
