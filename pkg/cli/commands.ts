// Importing this module registers every command with the executable.
// Each command lives in its own module and registers itself there.
import './apply';
import './get';
import './delete';
import './scale';
import './describe';
import './logs';
import './exec';
import './agent';
import './master';
import './front';
import './proxy';
import './cluster';
import './rollout';
