// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title MockUSDT
/// @notice Local-chain and test stand-in for Tether USD (USDT) on Ethereum mainnet, with its quirks:
///  - 6 decimals, name "Tether USD", symbol "USDT".
///  - `transfer`, `transferFrom` and `approve` return NOTHING. A caller that decodes a `bool` (a plain
///    `IERC20(token).transfer(...)`) reverts; OpenZeppelin `SafeERC20` works.
///  - `approve` reverts unless the current allowance or the new value is zero (reset to zero first;
///    `SafeERC20.forceApprove` does this).
///  - An allowance of `type(uint256).max` is never decreased by `transferFrom` (as on mainnet).
///  - Fee switch: the owner sets a fee in basis points (capped at `MAX_FEE_BASIS_POINTS`) and a per-transfer
///    ceiling `maximumFee`. The fee is taken out of the transferred amount and credited to the owner, so the
///    receiver gets less than `amount`: contracts must account by balance difference.
///    (Mainnet caps the rate at 19 bps and the ceiling below 50 USDT; this mock allows up to 10% so tests can make
///    the effect large.)
///  - Blacklist: the owner adds and removes addresses. A blacklisted address can neither send nor receive
///    (stricter than mainnet, which only blocks sending, so tests can model a recipient that cannot be paid).
///  - Pause: while paused, `transfer` and `transferFrom` revert (as on mainnet, `approve` still works).
/// Errors are custom errors (mainnet reverts without data) so tests can expect them precisely.
/// @dev `mint` is OPEN TO ANYONE: it is a faucet for local chains and tests, never deploy this to a real network.
contract MockUSDT {
    string public constant name = "Tether USD";
    string public constant symbol = "USDT";
    uint8 public constant decimals = 6;

    /// Highest fee rate the owner may set: 1000 bps = 10%.
    uint256 public constant MAX_FEE_BASIS_POINTS = 1000;

    uint256 public totalSupply;
    address public owner;
    bool public paused;
    /// Fee rate in basis points (1/10000) of the transferred amount.
    uint256 public basisPointsRate;
    /// Ceiling on the fee of a single transfer, in token units (6 decimals).
    uint256 public maximumFee;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    mapping(address => bool) public isBlackListed;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event Params(uint256 feeBasisPoints, uint256 maxFee);
    event AddedBlackList(address indexed user);
    event RemovedBlackList(address indexed user);
    event Pause();
    event Unpause();
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner();
    error Paused();
    error Blacklisted(address account);
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    error InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    /// `approve` to a non-zero value while the current allowance is non-zero.
    error ApproveFromNonZero(uint256 current, uint256 requested);
    error FeeTooHigh(uint256 basisPoints);
    error ZeroAddress();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    // ---------------------------------------------------------------- ERC-20 (USDT flavour: no return values)

    function transfer(address to, uint256 value) external {
        _transfer(msg.sender, to, value);
    }

    function transferFrom(address from, address to, uint256 value) external {
        uint256 current = allowance[from][msg.sender];
        if (current < value) revert InsufficientAllowance(msg.sender, current, value);
        if (current != type(uint256).max) {
            unchecked {
                allowance[from][msg.sender] = current - value;
            }
        }
        _transfer(from, to, value);
    }

    function approve(address spender, uint256 value) external {
        uint256 current = allowance[msg.sender][spender];
        if (value != 0 && current != 0) revert ApproveFromNonZero(current, value);
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
    }

    /// Mainnet name for the blacklist check.
    function getBlackListStatus(address account) external view returns (bool) {
        return isBlackListed[account];
    }

    /// The fee `transfer(_, value)` would take right now.
    function feeFor(uint256 value) public view returns (uint256 fee) {
        fee = (value * basisPointsRate) / 10_000;
        if (fee > maximumFee) fee = maximumFee;
    }

    // ---------------------------------------------------------------- faucet

    /// @notice TEST FAUCET: anyone may mint any amount to anyone (not blacklisted). Local chains and tests only.
    function mint(address to, uint256 value) external {
        if (to == address(0)) revert ZeroAddress();
        if (isBlackListed[to]) revert Blacklisted(to);
        totalSupply += value;
        unchecked {
            balanceOf[to] += value; // cannot overflow: bounded by totalSupply
        }
        emit Transfer(address(0), to, value);
    }

    // ---------------------------------------------------------------- owner controls

    /// Sets the fee switch. `newBasisPoints` <= MAX_FEE_BASIS_POINTS; `newMaxFee` in token units.
    function setParams(uint256 newBasisPoints, uint256 newMaxFee) external onlyOwner {
        if (newBasisPoints > MAX_FEE_BASIS_POINTS) revert FeeTooHigh(newBasisPoints);
        basisPointsRate = newBasisPoints;
        maximumFee = newMaxFee;
        emit Params(newBasisPoints, newMaxFee);
    }

    function addBlackList(address account) external onlyOwner {
        isBlackListed[account] = true;
        emit AddedBlackList(account);
    }

    function removeBlackList(address account) external onlyOwner {
        isBlackListed[account] = false;
        emit RemovedBlackList(account);
    }

    function pause() external onlyOwner {
        paused = true;
        emit Pause();
    }

    function unpause() external onlyOwner {
        paused = false;
        emit Unpause();
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    // ---------------------------------------------------------------- internals

    function _transfer(address from, address to, uint256 value) internal {
        if (paused) revert Paused();
        if (isBlackListed[from]) revert Blacklisted(from);
        if (isBlackListed[to]) revert Blacklisted(to);
        uint256 balance = balanceOf[from];
        if (balance < value) revert InsufficientBalance(from, balance, value);

        uint256 fee = feeFor(value);
        uint256 sendAmount = value - fee;
        unchecked {
            balanceOf[from] = balance - value;
        }
        // Credits cannot overflow: the sum of all balances is totalSupply.
        unchecked {
            balanceOf[to] += sendAmount;
        }
        if (fee > 0) {
            address feeRecipient = owner;
            unchecked {
                balanceOf[feeRecipient] += fee;
            }
            emit Transfer(from, feeRecipient, fee);
        }
        emit Transfer(from, to, sendAmount);
    }
}
