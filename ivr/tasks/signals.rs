//! What starts a drain: the first Ctrl-C or SIGTERM; a second one cuts it short.

/// The first Ctrl-C or SIGTERM starts the drain; a second one cuts it short.
pub fn shutdown_signals() -> (impl Future<Output = ()> + Send, impl Future<Output = ()> + Send) {
    let (count, counted) = tokio::sync::watch::channel(0_u32);
    tokio::spawn(async move {
        let mut signals = Signals::new();
        loop {
            signals.next().await;
            count.send_modify(|n| *n += 1);
        }
    });
    let nth = |n: u32| {
        let mut counted = counted.clone();
        async move {
            let _ = counted.wait_for(|&count| count >= n).await;
        }
    };
    (nth(1), nth(2))
}

/// Ctrl-C and SIGTERM, each as often as they come.
struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
            if let Err(error) = &terminate {
                tracing::warn!(%error, "SIGTERM cannot be caught: only Ctrl-C starts the drain");
            }
            Signals { terminate: terminate.ok() }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        let terminate = async {
            match &mut self.terminate {
                Some(signal) => drop(signal.recv().await),
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C"),
            () = terminate => tracing::info!("SIGTERM"),
        }
    }
}
