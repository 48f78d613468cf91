//! A console's view of an engine that runs elsewhere (another process's control socket, or
//! every engine on a NATS bus): its events, its status, and a command queue forwarded there.

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use super::{Commands, EngineStatus, PipelineEvent};

pub struct Attached {
    pub events: UnboundedReceiver<PipelineEvent>,
    pub status: EngineStatus,
    commands: Commands,
    notifier: UnboundedSender<PipelineEvent>,
    /// Reads the far side's events; stopped at detach.
    reader: JoinHandle<()>,
    /// Carries commands there; ends by itself once the last `Commands` clone is dropped.
    _forwarder: JoinHandle<()>,
}

impl Attached {
    pub fn new(
        events: UnboundedReceiver<PipelineEvent>,
        status: EngineStatus,
        notifier: UnboundedSender<PipelineEvent>,
        (commands, forwarder): (Commands, JoinHandle<()>),
        reader: JoinHandle<()>,
    ) -> Attached {
        Attached {
            events,
            status,
            commands,
            notifier,
            reader,
            _forwarder: forwarder,
        }
    }

    pub fn commands(&self) -> Commands {
        self.commands.clone()
    }

    /// A sender into this console's event channel (for its own notices).
    pub fn notifier(&self) -> UnboundedSender<PipelineEvent> {
        self.notifier.clone()
    }

    /// Stop reading (the far side keeps running).
    pub fn detach(self) {
        self.reader.abort();
    }
}
